import Foundation
import GRDB

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

        /// About how many bytes the row's values take (a page's memory budget).
        var byteCount: Int {
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

    /// Whether the page moves nothing.
    public var isEmpty: Bool { commits == 0 }
    /// Rows in the page.
    public var rowCount: Int { tables.reduce(0) { $0 + $1.rows.count } }
}

extension Replica {
    /// The rows the commits after `marks` touched, as they stand now, and the marks once they
    /// are written: whole commits, until the page holds about `maxRows` rows or `maxBytes`
    /// bytes of values (a page of large rows stays as small in memory as one of small rows;
    /// one commit is taken whatever its size). Commits are read in order per origin, origins in
    /// id order; a commit that does not decode is skipped (logged by
    /// ``rowsTouched(by:origin:seq:)``), never a reason to stop.
    public func archivePage(after marks: VersionVector, maxRows: Int = 5_000, maxBytes: Int = 8 << 20) throws -> ArchivePage {
        try writer.read { db in
            var page = ArchivePage(marks: marks)
            // Each row is read when a commit first touches it: later commits in the page only
            // move its origin and sequence number (the row is archived as it stands now).
            var rows: [String: [ArchivePage.Row]] = [:]
            var place: [RowRef: Int] = [:]
            var bytes = 0
            scan: for entry in try versionVector(db).sorted where entry.seq > marks[entry.origin] {
                var commits = try CommitStore(db: db).commits(entry.origin, after: marks[entry.origin], upTo: entry.seq)
                while let commit = try commits.next() {
                    if page.commits > 0, place.count >= max(maxRows, 1) || bytes >= maxBytes { break scan }
                    for ref in rowsTouched(by: commit.body, origin: entry.origin, seq: commit.seq) {
                        guard let table = tables[ref.table] else { continue }
                        if let index = place[ref] {
                            rows[ref.table]![index].origin = entry.origin
                            rows[ref.table]![index].seq = commit.seq
                            continue
                        }
                        let row = try currentRow(db, table: table, key: ref.key, origin: entry.origin, seq: commit.seq)
                        bytes += row.byteCount
                        place[ref] = rows[ref.table, default: []].count
                        rows[ref.table, default: []].append(row)
                    }
                    page.marks[entry.origin] = commit.seq
                    page.commits += 1
                }
            }
            page.tables = policies.tables.compactMap { declaration in rows[declaration.name].map { (declaration, $0) } }
            return page
        }
    }

    /// `key`'s row of `table` as it stands now (values nil when it is gone).
    private func currentRow(_ db: Database, table: ReplicatedTable, key: String, origin: NodeID, seq: UInt64) throws -> ArchivePage.Row {
        var row = ArchivePage.Row(key: key, values: nil, origin: origin, seq: seq, stampMilliseconds: 0)
        guard let stored = try Row.fetchOne(db.cachedStatement(sql: table.selectSQL), arguments: [key]) else { return row }
        let count = table.policies.count
        let values = (0..<count).map { stored[$0] as DatabaseValue }
        row.values = values
        let meta = Array((stored[count] as Data?) ?? Data())
        row.stampMilliseconds = Self.newestStamp(meta, values: values, policies: table.policies)
        return row
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
