import Foundation
import GRDB
import Logging
import Synchronization

/// What applying a batch did.
public struct ApplyReport: Hashable, Sendable {
    /// Commits verified and applied.
    public var commitsApplied: Int = 0
    /// Rows inserted, changed or deleted by the batch.
    public var rowsChanged: Int = 0
    /// Rows the replica already held at least as new (duplicates, stale or superseded changes).
    public var rowsUnchanged: Int = 0
    /// Changes refused by policy (conflicting content for an append-only row), reported in ``Replica/rejections()``.
    public var rejected: Int = 0
    /// Commits not applied because their origin is quarantined or revoked (held, not lost: the sender keeps them).
    public var held: Int = 0
    /// Origins quarantined by this batch: a commit of theirs broke a declared rule.
    public var quarantined: [Quarantine] = []
    /// First-writer-wins writes that lost in this batch.
    public var lostWrites: [LostWrite] = []
    /// Origins whose clocks ran further ahead than the skew bound allows.
    public var clockSkews: [ClockSkewReport] = []
    /// The version vector after the batch.
    public var versionVector = VersionVector()
}

/// An origin whose commit broke a declared rule: that commit and every later one of the origin
/// are held, not applied, until a person lifts the quarantine. Names the rule, never a value.
public struct Quarantine: Hashable, Sendable {
    /// The misbehaving node.
    public var origin: NodeID
    /// Its first refused commit.
    public var seq: UInt64
    /// The table the broken rule belongs to, when there is one.
    public var table: String?
    /// The rule.
    public var rule: String
    /// When it was seen (milliseconds since 1970).
    public var seenAt: UInt64
}

extension Replica {
    /// Verifies and merges a batch of commits in one transaction.
    ///
    /// Per origin, the run of commits must continue the chain this replica holds and end at a
    /// head the origin signed; a run that does not check out is forged or altered, and the whole
    /// batch is refused (``ReplicaError/Code/forgedCommit``): the peer that sent it misbehaves.
    /// A commit that checks out but breaks a declared rule (a table its origin's role may not
    /// write, a delete of a `no-delete` row, a value its column does not take, a clock reading
    /// beyond the bound) quarantines its origin: it and that origin's later commits are held,
    /// while the rest of the batch applies. Merging is commutative, associative and idempotent.
    /// - Parameter progress: called after each commit with the number merged so far in the
    ///   batch's transaction (a batch refused later, a forged run found at its end among them,
    ///   keeps none of them).
    /// - Throws: ``ReplicaError`` `.forgedCommit`; nothing of the batch is applied then.
    @discardableResult
    public func apply(_ batch: ChangeBatch, progress: ((Int) -> Void)? = nil) throws -> ApplyReport {
        let (report, event, waiting) = try writer.write { db in try merge(batch, in: db, progress: progress) }
        waitingRuns.replace(with: waiting, now: wallClock.now())
        if let event { observers.emit(event) }
        return report
    }

    /// The asynchronous form of ``apply(_:progress:)``.
    @discardableResult
    public func apply(_ batch: ChangeBatch) async throws -> ApplyReport {
        let (report, event, waiting) = try await writer.write { db in try self.merge(batch, in: db, progress: nil) }
        waitingRuns.replace(with: waiting, now: wallClock.now())
        if let event { observers.emit(event) }
        return report
    }

    /// Merges a batch; returns what the kept runs become (set once the transaction committed).
    private func merge(_ batch: ChangeBatch, in db: Database, progress: ((Int) -> Void)?) throws -> (ApplyReport, ReplicaEvent?, [WaitingRuns.Run]) {
        var merger = try BatchMerger(replica: self, db: db)
        // Runs kept from earlier batches come first: they have waited longest.
        var waiting = waitingRuns.snapshot()
        for segment in batch.segments {
            let outcome = try merger.apply(segment, progress: progress)
            if outcome != .done { waiting.append(WaitingRuns.Run(segment: segment, waits: outcome == .waits, keptAt: nil)) }
        }
        // A run that waited for another origin's commit (a relay sends origins in its own order,
        // and page by page), or that came after such a run, is tried again once the rest is
        // merged, and kept for the batches that follow.
        while !waiting.isEmpty {
            let before = merger.report.commitsApplied
            var still: [WaitingRuns.Run] = []
            for var run in waiting {
                guard let outcome = try merger.retry(run, progress: progress), outcome != .done else { continue }
                run.waits = outcome == .waits
                still.append(run)
            }
            waiting = still
            if merger.report.commitsApplied == before { break }
        }
        let (report, event) = try merger.finish()
        return (report, event, waiting)
    }

    /// Origins in quarantine on this replica.
    public func quarantines() throws -> [Quarantine] {
        try reader.read { db in
            try Row.fetchAll(db, sql: "SELECT origin, seq, tbl, rule, seenAt FROM _sf_quarantine ORDER BY seenAt").map {
                Quarantine(origin: NodeID(databaseValue: $0[0]), seq: UInt64($0[1] as Int64), table: $0[2], rule: $0[3], seenAt: UInt64($0[4] as Int64))
            }
        }
    }

    /// Lifts an origin's quarantine: its held commits are accepted again (and checked again) when a peer next sends them.
    public func liftQuarantine(of origin: NodeID) throws {
        try writer.write { db in try db.execute(sql: "DELETE FROM _sf_quarantine WHERE origin = ?", arguments: [origin.databaseValue]) }
    }
}

/// Verifies and merges one batch inside one write transaction.
struct BatchMerger {
    let replica: Replica
    let db: Database
    let store: RowStore
    var report = ApplyReport()
    var changed: [String: Set<String>] = [:]
    var newestByOrigin: [NodeID: HLC] = [:]
    var vector: VersionVector
    let limits = ChangeBatch.Limits()
    /// The commit whose changes are being merged.
    var currentCommit: (origin: NodeID, seq: UInt64)?
    /// The newest clock reading of the last checked commit's own writes.
    var newestOwn = HLC.zero
    /// Whether the last checked commit changes tables or columns not declared here (a later release's).
    var lastHadUnread = false
    /// Rejections not logged yet (table, origin, reason): see ``reject(_:_:origin:reason:)``.
    var rejectionsToLog: [(table: String, origin: NodeID, reason: String)] = []

    init(replica: Replica, db: Database) throws {
        self.replica = replica
        self.db = db
        self.store = RowStore(db: db, gate: replica.gate, buriedTables: replica.buriedTables)
        self.vector = try replica.versionVector(db)
    }

    /// Fresh rows written whole by one write, waiting to be inserted together (one table at a time).
    private var pending: [PendingRow] = []
    private var pendingKeys: Set<String> = []
    private static let chunkSize = 128

    /// A fresh row one write wrote whole: its columns are the commit's own (no copy of the row).
    struct PendingRow: WholeRow {
        var key: String
        var columns: WrittenColumns
        /// The one stamp of every column.
        var stamp: Stamp

        func appendValues(to values: inout [DatabaseValue]) {
            columns.appendValues(to: &values)
        }

        var encodedMeta: [UInt8] { RowMetaCodec.encodeUniform(stamp) }

        func state() -> RowState { columns.completeRow! }
    }

    // MARK: - Verification

    /// How far a run of commits got.
    enum RunOutcome {
        /// Applied to its end, or stopped for good (held, quarantined, old news).
        case done
        /// Stopped at a commit that waits for another origin's commit this node lacks.
        case waits
        /// Starts after commits this node lacks (they may be waiting).
        case gap
    }

    /// - Parameter checkFirst: check the origin's signature before merging anything of the run
    ///   (a caller that catches `forgedCommit` and goes on in the same transaction).
    @discardableResult
    mutating func apply(_ segment: ChainSegment, progress: ((Int) -> Void)?, checkFirst: Bool = false) throws -> RunOutcome {
        // Rows waiting in the fast path (a revocation among them) must be visible to the checks below.
        try flushPending()
        let origin = segment.origin
        let held = vector[origin]
        // Our own commits are ours to make; a quarantined or revoked origin's are held; a gap waits
        // for the missing commits; old news is skipped.
        guard origin != replica.nodeID, segment.lastSeq > held else { return .done }
        // A revoked origin's commits up to its revocation's cut-off are still accepted; later ones are held.
        let cutoff = try replica.revocationCutoff(origin, db)
        if try isQuarantined(origin) || cutoff.map({ held >= $0 }) == true {
            report.held += Int(segment.lastSeq - max(held, segment.firstSeq - 1))
            return .done
        }
        guard segment.firstSeq <= held + 1 else { return .gap }
        let identity = try identify(origin, credential: segment.credential)
        // Hashed and decoded on another core while this merges; the signature is checked before
        // anything of the run is stored, logged or quarantined (a forged run throws, and the
        // transaction takes back what was merged). A run kept from an earlier batch is checked
        // first: its failure is caught and the batch goes on (`retry`).
        let skipped = Int(held + 1 - segment.firstSeq)
        let lead = PreparedRun.runsOnWorker(segment, from: skipped) ? try CommitStore(db: db).packLead(origin, before: held + 1) : nil
        let run = PreparedRun(segment: segment, identity: identity, tables: replica.tables, limits: limits, from: skipped, packLead: lead)
        defer { run.cancel() }
        if checkFirst { try Self.signed(run, segment) }
        // Signed by the origin, yet not the history this node holds: the origin signed two histories.
        let theirs = skipped == 0 ? segment.previousHash : run.hash(at: skipped - 1)
        guard try theirs == replica.chainHash(db, origin: origin, seq: held) else {
            try Self.signed(run, segment)
            try quarantine(origin, seq: held, CommitViolation(table: nil, "signed two different histories up to commit \(held)"))
            return .done
        }
        var appliedUpTo = held
        var applied: [CommitStore.StoredCommit] = []
        var outcome = RunOutcome.done
        do {
            commits: for (position, body) in segment.bodies.enumerated().dropFirst(skipped) {
                let seq = segment.firstSeq + UInt64(position)
                if let cutoff, seq > cutoff {
                    report.held += Int(segment.lastSeq - cutoff)
                    break
                }
                let deltas: [RowDelta]
                switch run.decoding(at: position) {
                case .decoded(let decoded):
                    newestOwn = decoded.newest
                    lastHadUnread = decoded.hasUnread
                    deltas = decoded.deltas
                case .broken(let violation):
                    try Self.signed(run, segment)
                    try quarantine(origin, seq: seq, violation)
                    break commits
                }
                guard let deltas = try withinClockBound(deltas, origin: origin, seq: seq, body: body, beforeHolding: { try Self.signed(run, segment) }) else { break }
                switch try judgeOwnerWrites(deltas, seq: seq, in: segment, identity: identity) {
                case .holds:
                    break
                case .waits(let missing):
                    try Self.signed(run, segment)
                    outcome = .waits
                    replica.logger.info(
                        "held a ward node's commit until the commit it names arrives",
                        metadata: [
                            "replica.origin": "\(origin)", "replica.seq": "\(seq)", "replica.waitsFor": "\(missing.origin):\(missing.seq)",
                        ])
                    break commits
                case .broken(let violation):
                    try Self.signed(run, segment)
                    try quarantine(origin, seq: seq, violation)
                    break commits
                }
                currentCommit = (origin, seq)
                for delta in deltas { try merge(delta) }
                currentCommit = nil
                run.retire(deltas)
                applied.append(CommitStore.StoredCommit(seq: seq, hash: run.hash(at: position), body: body))
                if lastHadUnread {
                    // Merged as far as this release declares; merged again when it declares more.
                    try db.cachedStatement(sql: "INSERT OR IGNORE INTO _sf_unread (origin, seq) VALUES (?, ?)")
                        .execute(arguments: [origin.databaseValue, Int64(seq)])
                }
                appliedUpTo = seq
                report.commitsApplied += 1
                progress?(report.commitsApplied)
            }
        } catch {
            // An unsigned run is reported as forged, not as whatever its contents broke.
            try Self.signed(run, segment)
            throw error
        }
        try Self.signed(run, segment)
        logRejections()
        guard appliedUpTo > held else { return outcome }
        try CommitStore(db: db).append(origin: origin, applied, prepared: run.preparedPacks())
        if appliedUpTo == segment.lastSeq {
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO _sf_head (origin, seq, signature) VALUES (?, ?, ?)")
                .execute(arguments: [origin.databaseValue, Int64(appliedUpTo), Data(segment.signature)])
        }
        vector[origin] = appliedUpTo
        try db.cachedStatement(sql: "INSERT INTO _sf_version (origin, seq) VALUES (?, ?) ON CONFLICT (origin) DO UPDATE SET seq = excluded.seq")
            .execute(arguments: [origin.databaseValue, Int64(appliedUpTo)])
        return outcome
    }

    /// Tries a waiting run again; nil when it is dropped. A run kept from an earlier batch that
    /// turns out forged is that batch's sender's fault, not this one's: it is dropped.
    mutating func retry(_ run: WaitingRuns.Run, progress: ((Int) -> Void)?) throws -> RunOutcome? {
        guard run.keptAt != nil else { return try apply(run.segment, progress: progress) }
        do {
            return try apply(run.segment, progress: progress, checkFirst: true)
        } catch let error as ReplicaError where error.code == .forgedCommit {
            replica.logger.warning("dropped a kept run of commits that does not check out", metadata: ["replica.origin": "\(run.segment.origin)"])
            return nil
        }
    }

    /// A commit stamped further ahead of this node's clock than the bound is held, not applied and
    /// not held against its origin: this node's clock may be the wrong one. It is tried again when
    /// a peer sends it again.
    private mutating func withinClockBound(
        _ deltas: [RowDelta], origin: NodeID, seq: UInt64, body: [UInt8], beforeHolding: () throws -> Void
    ) throws -> [RowDelta]? {
        let newest = newestOwn
        let bound = replica.wallClock.now() &+ replica.maximumStampLead
        guard newest.milliseconds > min(bound, HLC.maximumMilliseconds) else {
            if newest > newestByOrigin[origin] ?? .zero { newestByOrigin[origin] = newest }
            return deltas
        }
        try beforeHolding()
        report.held += 1
        replica.logger.warning(
            "held a commit stamped beyond the clock bound (this node's clock or the origin's is wrong)",
            metadata: [
                "replica.origin": "\(origin)", "replica.seq": "\(seq)", "replica.aheadDays": "\((newest.milliseconds &- replica.wallClock.now()) / 86_400_000)",
            ])
        return nil
    }

    /// Who `origin` is: from the credential it sent, or the one stored when it sent none.
    func identify(_ origin: NodeID, credential sent: [UInt8]) throws -> OriginIdentity {
        if let cached = replica.identities.withLock({ $0[origin] }), sent.isEmpty || cached.credential == sent {
            return cached.identity
        }
        let stored = try Data.fetchOne(
            db.cachedStatement(sql: "SELECT credential FROM _sf_origin WHERE origin = ?"),
            arguments: [origin.databaseValue]
        ).map(Array.init)
        let credential = sent.isEmpty ? stored ?? [] : sent
        let identity: OriginIdentity
        do {
            identity = try replica.authority.identify(origin: origin, credential: credential)
        } catch {
            throw ReplicaError(.forgedCommit, "commits of node \(origin) came with a credential that does not check out: \(error.message)")
        }
        guard identity.nodeID == origin else {
            throw ReplicaError(.forgedCommit, "commits of node \(origin) came with the credential of node \(identity.nodeID)")
        }
        if stored != credential, !credential.isEmpty {
            try db.execute(
                sql: "INSERT INTO _sf_origin (origin, credential) VALUES (?, ?) ON CONFLICT (origin) DO UPDATE SET credential = excluded.credential",
                arguments: [origin.databaseValue, Data(credential)])
        }
        replica.identities.withLock { $0[origin] = (credential, identity) }
        return identity
    }

    /// Waits until the origin's signature over `run` is checked.
    /// - Throws: ``ReplicaError`` `.forgedCommit` when it does not hold.
    private static func signed(_ run: PreparedRun, _ segment: ChainSegment) throws {
        guard run.signatureHolds() else {
            throw ReplicaError(
                .forgedCommit, "commits \(segment.firstSeq)…\(segment.lastSeq) of node \(segment.origin) do not match its signature (forged or altered on the way)")
        }
    }

    private func isQuarantined(_ origin: NodeID) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM _sf_quarantine WHERE origin = ?)"), arguments: [origin.databaseValue]) ?? true
    }

    mutating func quarantine(_ origin: NodeID, seq: UInt64, _ violation: CommitViolation) throws {
        let now = replica.wallClock.now()
        try db.execute(
            sql: "INSERT OR IGNORE INTO _sf_quarantine (origin, seq, tbl, rule, seenAt) VALUES (?, ?, ?, ?, ?)",
            arguments: [origin.databaseValue, Int64(seq), violation.table, violation.rule, Int64(now)])
        try db.execute(
            sql: """
                INSERT INTO _sf_rejection (tbl, pk, origin, reason, seenAt) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT DO UPDATE SET seenAt = excluded.seenAt
                """, arguments: [violation.table ?? "", "commit \(seq)", origin.databaseValue, violation.rule, Int64(now)])
        report.quarantined.append(Quarantine(origin: origin, seq: seq, table: violation.table, rule: violation.rule, seenAt: now))
        replica.logger.error(
            "quarantined a node: its commit breaks a declared rule; its later commits are held",
            metadata: [
                "replica.origin": "\(origin)", "replica.seq": "\(seq)", "replica.table": "\(violation.table ?? "-")", "replica.rule": "\(violation.rule)",
            ])
    }

    // MARK: - Merging

    private var pendingTable: String?

    mutating func merge(_ delta: RowDelta) throws {
        let table = replica.tables[delta.table]!
        switch delta.body {
        case .tombstone(let stamp):
            try flushPending()
            let existing = try store.load(table, key: delta.key)
            if existing == nil, let previous = try store.tombstone(table, key: delta.key), !stamp.precedes(previous) {
                report.rowsUnchanged += 1
                return
            }
            try store.bury(table, key: delta.key, stamp: stamp, existing: existing)
            try orphans.drop(table, delta.key)
            markChanged(table, delta.key)
        case .columns(let columns):
            let complete = delta.isInsert
            if complete, table.acceptsUniformFastPath, let stamp = columns.uniformStamp, columns.isComplete,
                try !store.mayHaveTombstones(table), try !replica.orphanTables.mayHaveTombstones(table.id, db)
            {
                if pendingTable != table.name || pendingKeys.contains(delta.key) { try flushPending() }
                pendingTable = table.name
                pendingKeys.insert(delta.key)
                pending.append(PendingRow(key: delta.key, columns: columns, stamp: stamp))
                if pending.count >= Self.chunkSize { try flushPending() }
                return
            }
            try flushPending()
            try mergeColumns(table, delta.key, columns, complete: complete)
        }
    }

    /// Inserts the pending rows in one statement; rows that already exist go through the full merge.
    mutating func flushPending() throws {
        guard let name = pendingTable, let table = replica.tables[name], !pending.isEmpty else { return }
        let rows = pending
        pending = []
        pendingKeys = []
        pendingTable = nil
        let inserted = try store.insertRows(table, rows)
        changed[table.name, default: []].reserveCapacity((changed[table.name]?.count ?? 0) + rows.count)
        for row in rows {
            if inserted?.contains(ExactText(row.key)) ?? true {
                markChanged(table, row.key)
            } else {
                try mergeColumns(table, row.key, row.columns, complete: true)
            }
        }
    }

    private mutating func mergeColumns(_ table: ReplicatedTable, _ key: String, _ columns: WrittenColumns, complete: Bool) throws {
        if try store.tombstone(table, key: key) != nil {
            report.rowsUnchanged += 1
            return
        }
        if let existing = try store.load(table, key: key) {
            if table.isAppendOnly {
                guard let incoming = columns.completeRow else { return }  // decoding makes every insert whole
                try mergeImmutable(table, key, existing, incoming)
            } else {
                try mergeMutable(table, key, existing, columns)
            }
            // The row may have been made by a local insert while another node's changes to it waited.
            if try orphans.adopt(table, key) != nil { markChanged(table, key) }
            return
        }
        guard complete else {
            // A change to a row whose first write has not arrived: kept aside until it does.
            if let commit = currentCommit { try orphans.keep(table, key, columns, origin: commit.origin, seq: commit.seq) }
            return
        }
        guard let row = columns.completeRow, try store.insertIfAbsent(table, key: key, row) else { return }
        markChanged(table, key)
        _ = try orphans.adopt(table, key)
    }

    private var orphans: OrphanAdoption { OrphanAdoption(replica: replica, db: db, store: store) }

    private mutating func mergeMutable(_ table: ReplicatedTable, _ key: String, _ existing: RowState, _ columns: WrittenColumns) throws {
        var merged = existing
        for (index, incoming) in columns {
            let outcome = ColumnMerge.merge(table.policies[index], existing.columns[index], incoming)
            merged.columns[index] = outcome.state
            if let displaced = outcome.displaced, case .register(let loser) = displaced.meta, case .register(let winner) = outcome.state.meta {
                try recordLostWrite(
                    LostWrite(
                        table: table.name, key: key, column: table.declaration.columns[index].name,
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

    /// The stamp of the write that made an append-only row: its registers' earliest, unwritten
    /// columns (declared after its writer made it) left out.
    static func rowStamp(_ row: RowState) -> Stamp {
        row.columns.compactMap { column -> Stamp? in
            if case .register(let stamp) = column.meta, stamp != .zero { return stamp }
            return nil
        }.min { $0.precedes($1) } ?? .zero
    }

    // MARK: - Reports

    mutating func reject(_ table: ReplicatedTable, _ key: String, origin: NodeID, reason: String) throws {
        report.rejected += 1
        try db.execute(
            sql: """
                INSERT INTO _sf_rejection (tbl, pk, origin, reason, seenAt) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT DO UPDATE SET seenAt = excluded.seenAt
                """, arguments: [table.name, key, origin.databaseValue, reason, Int64(replica.wallClock.now())])
        // Logged once the run's signature holds (a forged run must not get an honest origin blamed);
        // the row's key is not logged (some tables are keyed by a phone number).
        rejectionsToLog.append((table.name, origin, reason))
    }

    /// Logs the rejections of runs whose signatures hold.
    mutating func logRejections() {
        for (table, origin, reason) in rejectionsToLog {
            replica.logger.warning(
                "rejected a remote change", metadata: ["replica.table": "\(table)", "replica.origin": "\(origin)", "replica.reason": "\(reason)"])
        }
        rejectionsToLog = []
    }

    private mutating func recordLostWrite(_ lost: LostWrite) throws {
        report.lostWrites.append(lost)
        try db.execute(
            sql: """
                INSERT INTO _sf_lost_write (tbl, pk, col, loser, winner, seenAt) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT DO UPDATE SET winner = excluded.winner, seenAt = excluded.seenAt
                """, arguments: [lost.table, lost.key, lost.column, lost.loser.databaseValue, lost.winner.databaseValue, Int64(replica.wallClock.now())])
    }

    mutating func markChanged(_ table: ReplicatedTable, _ key: String) {
        report.rowsChanged += 1
        changed[table.name, default: []].insert(key)
    }

    /// Observes clocks, stores this node's clock, and schedules the notification.
    mutating func finish() throws -> (ApplyReport, ReplicaEvent?) {
        try flushPending()
        logRejections()
        // This node's own commits, left loose by its writes, are packed here too.
        try CommitStore(db: db).packLoose(replica.nodeID)
        for (origin, hlc) in newestByOrigin where origin != replica.nodeID {
            if let skew = replica.clock.withLock({ $0.observe(hlc, from: origin) }) {
                report.clockSkews.append(skew)
                try db.execute(
                    sql: """
                        INSERT INTO _sf_clock_skew (origin, aheadMs, seenAt) VALUES (?, ?, ?)
                        ON CONFLICT (origin) DO UPDATE SET aheadMs = MAX(aheadMs, excluded.aheadMs), seenAt = excluded.seenAt
                        """, arguments: [origin.databaseValue, Int64(clamping: skew.aheadMilliseconds), Int64(replica.wallClock.now())])
                replica.logger.warning(
                    "a node's clock is ahead of ours beyond the bound",
                    metadata: [
                        "replica.origin": "\(origin)", "replica.aheadMs": "\(skew.aheadMilliseconds)",
                    ])
            }
        }
        try db.execute(
            sql: """
                INSERT INTO _sf_version (origin, seq, hlc) VALUES (?, ?, ?)
                ON CONFLICT (origin) DO UPDATE SET hlc = MAX(hlc, excluded.hlc)
                """, arguments: [replica.nodeID.databaseValue, Int64(vector[replica.nodeID]), replica.clock.withLock { $0.last }.databaseValue])
        report.versionVector = vector
        guard !changed.isEmpty || !report.lostWrites.isEmpty else { return (report, nil) }
        return (report, ReplicaEvent(source: .remote, rows: changed, lostWrites: report.lostWrites))
    }
}
