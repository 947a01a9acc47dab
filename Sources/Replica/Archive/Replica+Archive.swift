import Foundation
import GRDB

/// One page of what an archive lacks: the rows that commits after its high-water marks touched,
/// as they stand now (merged), or gone.
///
/// An archive (``Replica/archivePage(after:maxRows:)``) mirrors row states, not changes: it
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
    }

    /// Rows per table, tables in declaration order.
    public var tables: [(table: TableDeclaration, rows: [Row])] = []
    /// The high-water marks once this page is written.
    public var marks: VersionVector
    /// Commits this page covers.
    public var commits = 0

    /// Whether the page moves nothing.
    public var isEmpty: Bool { commits == 0 }
    /// Rows in the page.
    public var rowCount: Int { tables.reduce(0) { $0 + $1.rows.count } }
}

extension Replica {
    /// The rows the commits after `marks` touched (at most about `maxRows`, whole commits), as
    /// they stand now, and the marks once they are written. Commits are read in order per origin,
    /// origins in id order; a commit that does not decode is skipped (logged by
    /// ``rowsTouched(by:origin:seq:)``), never a reason to stop.
    public func archivePage(after marks: VersionVector, maxRows: Int = 5_000) throws -> ArchivePage {
        try writer.read { db in
            var page = ArchivePage(marks: marks)
            var latest: [RowRef: (origin: NodeID, seq: UInt64)] = [:]
            var order: [RowRef] = []
            scan: for entry in try versionVector(db).sorted where entry.seq > marks[entry.origin] {
                var commits = try CommitStore(db: db).commits(entry.origin, after: marks[entry.origin], upTo: entry.seq)
                while let commit = try commits.next() {
                    if latest.count >= max(maxRows, 1) { break scan }
                    for ref in rowsTouched(by: commit.body, origin: entry.origin, seq: commit.seq) {
                        if latest.updateValue((entry.origin, commit.seq), forKey: ref) == nil { order.append(ref) }
                    }
                    page.marks[entry.origin] = commit.seq
                    page.commits += 1
                }
            }
            var byTable: [String: [ArchivePage.Row]] = [:]
            for ref in order {
                guard let table = tables[ref.table], let last = latest[ref] else { continue }
                let stored = try Row.fetchOne(db.cachedStatement(sql: table.selectSQL), arguments: [ref.key])
                var row = ArchivePage.Row(key: ref.key, values: nil, origin: last.origin, seq: last.seq, stampMilliseconds: 0)
                if let stored {
                    let count = table.policies.count
                    let values = (0..<count).map { stored[$0] as DatabaseValue }
                    row.values = values
                    let meta = Array((stored[count] as Data?) ?? Data())
                    row.stampMilliseconds = Self.newestStamp(meta, values: values, policies: table.policies)
                }
                byTable[ref.table, default: []].append(row)
            }
            page.tables = policies.tables.compactMap { declaration in byTable[declaration.name].map { (declaration, $0) } }
            return page
        }
    }

    /// The newest register stamp of a row's columns, in hybrid clock milliseconds (0 when its
    /// metadata does not decode or it holds none).
    private static func newestStamp(_ meta: [UInt8], values: [DatabaseValue], policies: [ColumnPolicy]) -> UInt64 {
        guard let state = try? RowMetaCodec.decode(meta, values: values, widenedTo: policies) else { return 0 }
        return state.columns.reduce(0) { newest, column in
            if case .register(let stamp) = column.meta { return max(newest, stamp.hlc.milliseconds) }
            return newest
        }
    }
}
