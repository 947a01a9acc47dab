import Foundation
import GRDB
import GRDBSQLite
import Logging

/// One page of what an archive lacks: the rows that commits after its high-water marks touched,
/// as they stand now (merged), or gone.
///
/// An archive (``Replica/archivePage(after:maxRows:maxBytes:)``) mirrors row states, not changes: it
/// writes each row's current merged state, so writing a page twice, or a page whose rows changed
/// again since, leaves the same rows as the replica holds. The marks say, per origin, up to which
/// commit every row it touched is reflected.
public struct ArchivePage: Sendable {
    /// One row to write (or remove) in the archive.
    public struct Row: Sendable {
        /// The row's primary key.
        public var key: String
        /// The row's values in declared column order; nil when the row is gone from the replica.
        public var values: [DatabaseValue]?
        /// The origin of the last commit in this page that touched the row.
        public var origin: NodeID
        /// That commit's sequence number.
        public var seq: UInt64
        /// The newest write stamp of the row's columns (hybrid clock milliseconds), 0 when gone.
        public var stampMilliseconds: UInt64
        /// Whether the first commit of this page that touched the row created it: an archive
        /// written up to the page's starting marks cannot hold it, unless another origin created
        /// the same key or the marks were reset (a writer that trusts this must handle the clash).
        public var isNew = false

        /// About how many bytes the row's values take (a page's memory budget).
        public var byteCount: Int {
            key.utf8.count
                + (values ?? []).reduce(0) { total, value in
                    switch value.storage {
                    case .string(let text): total + text.utf8.count
                    case .blob(let data): total + data.count
                    default: total + 8
                    }
                }
        }
    }

    /// Rows per table, tables in declaration order.
    public var tables: [(table: TableDeclaration, rows: [Row])] = []
    /// The high-water marks once this page is written.
    public var marks: VersionVector
    /// Commits this page covers.
    public var commits = 0

    /// Where the next page starts when this one ends inside a commit (its rows pass the page's
    /// budget): the marks stay before that commit until a page takes its last row.
    public var resume: ArchiveCursor?

    /// Whether the page moves nothing.
    public var isEmpty: Bool { commits == 0 && resume == nil }
    /// Rows in the page.
    public var rowCount: Int { tables.reduce(0) { $0 + $1.rows.count } }
}

/// A place inside one commit: the pages before took the first `offset` rows it touches.
public struct ArchiveCursor: Sendable, Equatable {
    /// The commit's origin.
    public var origin: NodeID
    /// The commit's sequence number.
    public var seq: UInt64
    /// How many of the rows it touches (in its own order) are taken.
    public var offset: Int
}

extension Replica {
    /// The rows the commits after `marks` touched, as they stand now, and the marks once they
    /// are written, until the page holds about `maxRows` rows or `maxBytes` bytes of values (a page
    /// of large rows stays as small in memory as one of small rows). A commit whose rows pass the
    /// budget is split: the page ends inside it (``ArchivePage/resume``), and the next page,
    /// asked with `resume`, goes on from there. Commits are read in order per origin, origins in
    /// id order; a commit that does not decode is skipped (logged by
    /// ``touchedRows(_:origin:seq:)``), never a reason to stop.
    public func archivePage(after marks: VersionVector, resume: ArchiveCursor? = nil, maxRows: Int = 5_000, maxBytes: Int = 8 << 20) throws -> ArchivePage {
        try writer.read { db in
            var builder = ArchivePageBuilder(db, marks: marks, maxRows: maxRows, maxBytes: maxBytes)
            scan: for entry in try versionVector(db).sorted where entry.seq > marks[entry.origin] {
                var commits = try CommitStore(db: db).commits(entry.origin, after: marks[entry.origin], upTo: entry.seq)
                while let commit = try commits.next() {
                    let taken = resume.map { $0.origin == entry.origin && $0.seq == commit.seq ? $0.offset : 0 } ?? 0
                    for (position, touched) in touchedRows(commit.body, origin: entry.origin, seq: commit.seq).enumerated().dropFirst(taken) {
                        guard let table = tables[touched.table] else { continue }
                        let place = ArchiveCursor(origin: entry.origin, seq: commit.seq, offset: position)
                        guard try builder.touch(table, key: touched.key, isInsert: touched.isInsert, at: place) else { break scan }
                    }
                    try builder.endCommit(origin: entry.origin, seq: commit.seq)
                }
            }
            return try builder.finish(tableOrder: policies.tables)
        }
    }

    /// The rows a stored commit touches and whether it created each; none when it does not
    /// decode (logged).
    private func touchedRows(_ body: [UInt8], origin: NodeID, seq: UInt64) -> [(table: String, key: String, isInsert: Bool)] {
        do {
            return try CommitCodec.touchedRows(body, origin: origin, seq: seq, tables: tables)
        } catch {
            logger.error(
                "a stored commit does not decode; it is skipped",
                metadata: ["replica.origin": "\(origin)", "replica.seq": "\(seq)", "replica.rule": "\(error.rule)", "replica.reader": "archive"])
            return []
        }
    }
}
