import GRDB

extension Replica {
    /// The changes a replica whose version vector is `remote` lacks, one page at a time.
    ///
    /// Walks the change log per origin from the peer's entry onwards, so the cost is
    /// proportional to what is missing, not to the size of the database. Rows are sent
    /// whole with their merge metadata; a row written by several origins may be sent
    /// more than once, which merging absorbs.
    /// - Parameters:
    ///   - remote: the receiver's version vector.
    ///   - cursor: where the previous page stopped (`nil` for the first page).
    ///   - maxChanges: the most rows in this page.
    ///   - include: a sender-side filter (table, row id) deciding what this peer may receive;
    ///     excluded rows are skipped but still covered, so the filter must be stable per peer.
    /// - Returns: the page and the cursor for the next one (`nil` when this was the last).
    public func changes(since remote: VersionVector, after cursor: ChangeCursor? = nil, maxChanges: Int = 5_000,
                        include: (@Sendable (String, String) -> Bool)? = nil) throws -> (batch: ChangeBatch, next: ChangeCursor?) {
        try writer.read { db in
            let local = try versionVector(db)
            var page = ChangePage(db: db, tables: tablesByID, maxChanges: max(maxChanges, 1), include: include)
            for (origin, seq) in local.sorted where seq > remote[origin] {
                var after = remote[origin]
                if let cursor {
                    if origin < cursor.origin { continue }
                    if origin == cursor.origin { after = cursor.covered }
                }
                if let next = try page.collect(origin: origin, after: after, upTo: seq) {
                    return (page.batch, next)
                }
                if page.isFull, let following = local.sorted.first(where: { $0.origin > origin && $0.seq > remote[$0.origin] }) {
                    return (page.batch, ChangeCursor(origin: following.origin, covered: remote[following.origin]))
                }
            }
            return (page.batch, nil)
        }
    }
}

/// Collects one page of changes from the log.
private struct ChangePage {
    let db: Database
    let tables: [Int64: ReplicatedTable]
    let maxChanges: Int
    let include: (@Sendable (String, String) -> Bool)?
    var batch = ChangeBatch()
    /// Rows already in this page (a row carrying several origins' writes has several log entries).
    var sent: Set<RowReference> = []

    var isFull: Bool { batch.changes.count >= maxChanges }

    /// Adds one origin's log entries in (after, upTo]; returns a cursor when the page filled up first.
    ///
    /// A page is cut only between two commits, never inside one: a coverage claim says
    /// "every change of this origin up to here", which a half-sent commit would break
    /// if the page before it were lost. A commit larger than `maxChanges` goes whole.
    mutating func collect(origin: NodeID, after: UInt64, upTo: UInt64) throws -> ChangeCursor? {
        let statement = try db.cachedStatement(sql: """
            SELECT seq, tbl, pk FROM _sf_log WHERE origin = ? AND seq > ? AND seq <= ? ORDER BY seq, tbl, pk
            """)
        let cursor = try Row.fetchCursor(statement, arguments: [origin.databaseValue, Int64(after), Int64(upTo)])
        var lastSeq: UInt64?
        while let row = try cursor.next() {
            let entry = LogPosition(seq: UInt64(row[0] as Int64), table: row[1], key: row[2])
            if isFull, let lastSeq, entry.seq != lastSeq {
                // Everything of this origin before this entry's commit has been sent.
                batch.coverage.append(Coverage(origin: origin, after: after, upTo: lastSeq))
                return ChangeCursor(origin: origin, covered: lastSeq)
            }
            lastSeq = entry.seq
            try add(entry)
        }
        batch.coverage.append(Coverage(origin: origin, after: after, upTo: upTo))
        return nil
    }

    private mutating func add(_ entry: LogPosition) throws {
        guard let table = tables[entry.table] else { return }
        guard sent.insert(RowReference(table: entry.table, key: entry.key)).inserted else { return }
        if let include, !include(table.name, entry.key) { return }
        let statement = try db.cachedStatement(sql: table.selectSQL)
        if let row = try Row.fetchOne(statement, arguments: [entry.key]) {
            let count = table.policies.count
            var values: [DatabaseValue] = []
            values.reserveCapacity(count)
            for index in 0..<count { values.append(row[index]) }
            let meta: Data = row[count]
            batch.changes.append(RowChange(table: table.name, key: entry.key, body: .row(values: values, meta: Array(meta))))
            return
        }
        if let tomb = try Row.fetchOne(db, sql: "SELECT hlc, origin, seq FROM _sf_tombstone WHERE tbl = ? AND pk = ?",
                                       arguments: [entry.table, entry.key]) {
            let stamp = Stamp(hlc: HLC(databaseValue: tomb[0]), origin: NodeID(databaseValue: tomb[1]), seq: UInt64(tomb[2] as Int64))
            batch.changes.append(RowChange(table: table.name, key: entry.key, body: .tombstone(stamp)))
        }
    }
}

import Foundation

/// One change-log entry: a commit of an origin that a row (or tombstone) carries.
private struct LogPosition {
    var seq: UInt64
    var table: Int64
    var key: String
}

/// A row of a table, by local table id.
private struct RowReference: Hashable {
    var table: Int64
    var key: String
}
