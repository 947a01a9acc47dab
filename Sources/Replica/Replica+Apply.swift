import GRDB
import Synchronization
import Logging

/// What applying a batch did.
public struct ApplyReport: Hashable, Sendable {
    /// Rows inserted, changed or deleted by the batch.
    public var rowsChanged: Int = 0
    /// Rows the replica already held at least as new (duplicates, stale or superseded changes).
    public var rowsUnchanged: Int = 0
    /// Changes refused by policy (updates or deletes of append-only rows), reported in ``Replica/rejections()``.
    public var rejected: Int = 0
    /// First-writer-wins writes that lost in this batch.
    public var lostWrites: [LostWrite] = []
    /// Origins whose clocks ran further ahead than the skew bound allows.
    public var clockSkews: [ClockSkewReport] = []
    /// The version vector after the batch.
    public var versionVector = VersionVector()
}

extension Replica {
    /// Merges a batch of remote changes in one transaction: all of it or none of it.
    ///
    /// Applying the same batch twice, or batches in any order, leaves the same state:
    /// merge is commutative, associative and idempotent. The version vector advances
    /// only along coverage claims whose `after` it already holds.
    /// - Parameter progress: called after each row with the number applied so far (for progress display).
    /// - Throws: ``ReplicaError`` `.incompatibleBatch` when the batch names undeclared tables or
    ///   carries malformed rows; nothing of the batch is applied then.
    @discardableResult
    public func apply(_ batch: ChangeBatch, progress: ((Int) -> Void)? = nil) throws -> ApplyReport {
        let (report, event) = try writer.write { db in try merge(batch, in: db, progress: progress) }
        if let event { observers.emit(event) }
        return report
    }

    /// The asynchronous form of ``apply(_:progress:)``.
    @discardableResult
    public func apply(_ batch: ChangeBatch) async throws -> ApplyReport {
        let (report, event) = try await writer.write { db in try self.merge(batch, in: db, progress: nil) }
        if let event { observers.emit(event) }
        return report
    }

    private func merge(_ batch: ChangeBatch, in db: Database, progress: ((Int) -> Void)?) throws -> (ApplyReport, ReplicaEvent?) {
        var merger = BatchMerger(replica: self, db: db)
        for (index, change) in batch.changes.enumerated() {
            try merger.merge(change)
            progress?(index + 1)
        }
        return try merger.finish(coverage: batch.coverage)
    }
}

/// Merges one batch inside one write transaction.
struct BatchMerger {
    let replica: Replica
    let db: Database
    let store: RowStore
    var report = ApplyReport()
    var changed: [String: Set<String>] = [:]
    var newestByOrigin: [NodeID: HLC] = [:]

    init(replica: Replica, db: Database) {
        self.replica = replica
        self.db = db
        self.store = RowStore(db: db, gate: replica.gate, buriedTables: replica.buriedTables)
    }

    /// Fresh rows written whole by one write, waiting to be inserted together (one table at a time).
    private var pending: [PendingRow] = []
    private var pendingKeys: Set<String> = []
    private static let chunkSize = 128

    struct PendingRow {
        var change: RowChange
        var values: [DatabaseValue]
        var meta: [UInt8]
        var stamp: Stamp
    }

    mutating func merge(_ change: RowChange) throws {
        if let table = replica.tables[change.table], table.acceptsUniformFastPath,
           case .row(let values, let meta) = change.body, values.count == table.policies.count,
           let stamp = RowMetaCodec.uniformStamp(of: meta),
           try !store.mayHaveTombstones(table) {
            try ReplicaTransaction.checkKey(change.key, table)
            // One table per statement, and a key at most once (a repeat must merge with the first).
            if let first = pending.first, first.change.table != change.table || pendingKeys.contains(change.key) { try flushPending() }
            pendingKeys.insert(change.key)
            note(stamp)
            pending.append(PendingRow(change: change, values: values, meta: meta, stamp: stamp))
            if pending.count >= Self.chunkSize { try flushPending() }
            return
        }
        try flushPending()
        try mergeOne(change)
    }

    /// Inserts the pending rows in one statement; rows that already exist go through the full merge.
    mutating func flushPending() throws {
        guard let table = pending.first.flatMap({ replica.tables[$0.change.table] }) else { return }
        let rows = pending
        pending = []
        pendingKeys = []
        let inserted = try store.insertUniformRows(table, rows.map { ($0.change.key, $0.values, $0.meta, $0.stamp) })
        for row in rows {
            if inserted.contains(row.change.key) {
                markChanged(table, row.change.key)
            } else {
                try mergeOne(row.change)
            }
        }
    }

    private mutating func mergeOne(_ change: RowChange) throws {
        guard let table = replica.tables[change.table] else {
            throw ReplicaError(.incompatibleBatch, "the batch names table '\(change.table)', which is not declared here")
        }
        try ReplicaTransaction.checkKey(change.key, table)
        switch change.body {
        case .tombstone(let stamp):
            note(stamp)
            if table.isAppendOnly {
                try reject(table, change.key, origin: stamp.origin, reason: "delete of an append-only row")
                return
            }
            let existing = try store.load(table, key: change.key)
            let previous = try store.tombstone(table, key: change.key)
            if existing == nil, let previous, !stamp.precedes(previous) {
                report.rowsUnchanged += 1
                return
            }
            try store.bury(table, key: change.key, stamp: stamp, existing: existing)
            markChanged(table, change.key)
        case .row(let values, let meta):
            guard values.count == table.policies.count else {
                throw ReplicaError(.incompatibleBatch, "a row of '\(table.name)' has \(values.count) columns, \(table.policies.count) are declared")
            }
            if table.acceptsUniformFastPath, let stamp = RowMetaCodec.uniformStamp(of: meta) {
                note(stamp)
                if try store.tombstone(table, key: change.key) != nil {
                    report.rowsUnchanged += 1
                    return
                }
                if try store.insertUniformIfAbsent(table, key: change.key, values: values, meta: meta, stamp: stamp) {
                    markChanged(table, change.key)
                    return
                }
            }
            let incoming: RowState
            do throws(MalformedDataError) {
                incoming = try RowMetaCodec.decode(meta, values: values, policies: table.policies)
            } catch {
                throw ReplicaError(.incompatibleBatch, "row '\(change.key)' of '\(table.name)': \(error.reason)")
            }
            for column in incoming.columns { for stamp in column.meta.stamps { note(stamp) } }
            if try store.tombstone(table, key: change.key) != nil {
                report.rowsUnchanged += 1
                return
            }
            if try store.insertIfAbsent(table, key: change.key, incoming) {
                markChanged(table, change.key)
                return
            }
            guard let existing = try store.load(table, key: change.key) else { return }
            if table.isAppendOnly {
                try mergeImmutable(table, change.key, existing, incoming)
            } else {
                try mergeMutable(table, change.key, existing, incoming)
            }
        }
    }

    private mutating func mergeMutable(_ table: ReplicatedTable, _ key: String, _ existing: RowState, _ incoming: RowState) throws {
        var merged = existing
        for index in existing.columns.indices {
            let outcome = ColumnMerge.merge(table.policies[index], existing.columns[index], incoming.columns[index])
            merged.columns[index] = outcome.state
            if let displaced = outcome.displaced, case .register(let loser) = displaced.meta, case .register(let winner) = outcome.state.meta {
                try recordLostWrite(LostWrite(table: table.name, key: key, column: table.declaration.columns[index].name,
                                              loser: loser.origin, winner: winner.origin))
            }
        }
        guard merged != existing else {
            report.rowsUnchanged += 1
            return
        }
        try store.replace(table, key: key, old: existing, new: merged)
        markChanged(table, key)
    }

    /// Append-only rows never change. Identical content is a duplicate; different content
    /// for the same id is refused and reported — except that the earliest version by
    /// (clock, node) is the one every replica keeps, so replicas agree whichever arrived first.
    private mutating func mergeImmutable(_ table: ReplicatedTable, _ key: String, _ existing: RowState, _ incoming: RowState) throws {
        let existingStamp = Self.rowStamp(existing), incomingStamp = Self.rowStamp(incoming)
        if existing.values == incoming.values {
            guard incomingStamp.precedes(existingStamp) else {
                report.rowsUnchanged += 1
                return
            }
            try store.replace(table, key: key, old: existing, new: incoming)
            report.rowsUnchanged += 1
            return
        }
        if incomingStamp.precedes(existingStamp) {
            try store.replace(table, key: key, old: existing, new: incoming)
            try reject(table, key, origin: existingStamp.origin, reason: "conflicting content for an append-only row")
            markChanged(table, key)
        } else {
            try reject(table, key, origin: incomingStamp.origin, reason: "update of an append-only row")
        }
    }

    private static func rowStamp(_ row: RowState) -> Stamp {
        row.columns.compactMap { column -> Stamp? in
            if case .register(let stamp) = column.meta { return stamp }
            return nil
        }.min { $0.precedes($1) } ?? .zero
    }

    private mutating func reject(_ table: ReplicatedTable, _ key: String, origin: NodeID, reason: String) throws {
        report.rejected += 1
        try db.execute(sql: """
            INSERT INTO _sf_rejection (tbl, pk, origin, reason, seenAt) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT DO UPDATE SET seenAt = excluded.seenAt
            """, arguments: [table.name, key, origin.databaseValue, reason, Int64(replica.wallClock.now())])
        replica.logger.warning("rejected a remote change", metadata: [
            "replica.table": "\(table.name)", "replica.row": "\(key)", "replica.origin": "\(origin)", "replica.reason": "\(reason)",
        ])
    }

    private mutating func recordLostWrite(_ lost: LostWrite) throws {
        report.lostWrites.append(lost)
        try db.execute(sql: """
            INSERT INTO _sf_lost_write (tbl, pk, col, loser, winner, seenAt) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT DO UPDATE SET winner = excluded.winner, seenAt = excluded.seenAt
            """, arguments: [lost.table, lost.key, lost.column, lost.loser.databaseValue, lost.winner.databaseValue, Int64(replica.wallClock.now())])
    }

    private mutating func note(_ stamp: Stamp) {
        if stamp.hlc > newestByOrigin[stamp.origin] ?? .zero {
            newestByOrigin[stamp.origin] = stamp.hlc
        }
    }

    private mutating func markChanged(_ table: ReplicatedTable, _ key: String) {
        report.rowsChanged += 1
        changed[table.name, default: []].insert(key)
    }

    /// Observes clocks, advances the version vector along valid coverage, and schedules the notification.
    mutating func finish(coverage: [Coverage]) throws -> (ApplyReport, ReplicaEvent?) {
        try flushPending()
        for (origin, hlc) in newestByOrigin where origin != replica.nodeID {
            if let skew = replica.clock.withLock({ $0.observe(hlc, from: origin) }) {
                report.clockSkews.append(skew)
                try db.execute(sql: """
                    INSERT INTO _sf_clock_skew (origin, aheadMs, seenAt) VALUES (?, ?, ?)
                    ON CONFLICT (origin) DO UPDATE SET aheadMs = MAX(aheadMs, excluded.aheadMs), seenAt = excluded.seenAt
                    """, arguments: [origin.databaseValue, Int64(skew.aheadMilliseconds), Int64(replica.wallClock.now())])
                replica.logger.warning("a node's clock is ahead of ours beyond the bound", metadata: [
                    "replica.origin": "\(origin)", "replica.aheadMs": "\(skew.aheadMilliseconds)",
                ])
            }
        }
        var vector = try replica.versionVector(db)
        for claim in coverage where vector[claim.origin] >= claim.after && claim.upTo > vector[claim.origin] {
            vector[claim.origin] = claim.upTo
            try db.execute(sql: """
                INSERT INTO _sf_version (origin, seq) VALUES (?, ?)
                ON CONFLICT (origin) DO UPDATE SET seq = excluded.seq
                """, arguments: [claim.origin.databaseValue, Int64(claim.upTo)])
        }
        // Merges may remove this node's newest log entries: store its entry and clock here.
        let ownSeq = max(vector[replica.nodeID], replica.localSeq.withLock { $0 })
        try db.execute(sql: """
            INSERT INTO _sf_version (origin, seq, hlc) VALUES (?, ?, ?)
            ON CONFLICT (origin) DO UPDATE SET seq = MAX(seq, excluded.seq), hlc = MAX(hlc, excluded.hlc)
            """, arguments: [replica.nodeID.databaseValue, Int64(ownSeq), replica.clock.withLock { $0.last }.databaseValue])
        replica.localSeq.withLock { $0 = max($0, ownSeq) }
        report.versionVector = vector
        guard !changed.isEmpty || !report.lostWrites.isEmpty else { return (report, nil) }
        return (report, ReplicaEvent(source: .remote, rows: changed, lostWrites: report.lostWrites))
    }
}
