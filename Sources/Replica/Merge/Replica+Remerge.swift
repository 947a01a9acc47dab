import GRDB
import Logging

extension Replica {
    /// Merges again the commits this replica merged only in part on an older release (they
    /// change tables or columns that release did not declare), now for what this release declares
    /// and the last one did not. Runs in one transaction when the replica opens after an upgrade;
    /// a crash before it ends leaves it to run again at the next open.
    ///
    /// Only the newly declared tables and columns are merged: the rest of each commit was merged
    /// when it arrived, and merging it again would report its lost writes twice. A commit that
    /// breaks a rule of the new declarations is reported and quarantines its origin from that
    /// commit on, as on the nodes that declared them when it arrived (what this node merged of the
    /// origin's later commits meanwhile stays: a person lifts or keeps the quarantine). A commit
    /// that cannot be read, or names a commit not held yet, is left for the next open; it never
    /// stops the node opening.
    func remergeUnread() throws {
        let event = try writer.write { db -> ReplicaEvent? in
            var grown: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT tbl, fromColumn FROM _sf_remerge") {
                grown[row[0] as String] = Int(row[1] as Int64)
            }
            guard !grown.isEmpty else { return nil }
            try db.execute(sql: "DELETE FROM _sf_remerge")
            var merger = try BatchMerger(replica: self, db: db)
            let unread = try Row.fetchAll(db, sql: "SELECT origin, seq FROM _sf_unread ORDER BY origin, seq").map { (NodeID(databaseValue: $0[0]), UInt64($0[1] as Int64)) }
            var merged = 0, failed = 0
            for (origin, seq) in unread {
                do {
                    switch try merger.remerge(origin: origin, seq: seq, grown: grown) {
                    case .merged: merged += 1
                    case .refused: break
                    case .waits: failed += 1  // tried again at the next start
                    }
                } catch {
                    failed += 1
                    logger.error(
                        "could not merge again a commit an older release read only in part; it is tried at the next start",
                        metadata: ["replica.origin": "\(origin)", "replica.seq": "\(seq)", "replica.error": "\(type(of: error))"])
                }
            }
            logger.notice(
                "merged again the commits an older release read only in part",
                metadata: ["replica.commits": "\(merged)", "replica.failed": "\(failed)", "replica.tables": "\(grown.keys.sorted().joined(separator: ","))"])
            if failed > 0 {
                for (table, from) in grown {
                    try db.execute(sql: "INSERT OR IGNORE INTO _sf_remerge (tbl, fromColumn) VALUES (?, ?)", arguments: [table, from])
                }
            }
            return try merger.finish().1
        }
        if let event { observers.emit(event) }
    }
}

extension BatchMerger {
    /// What merging a commit again did.
    enum RemergeOutcome {
        /// Merged for the newly declared tables and columns.
        case merged
        /// It breaks a rule of the new declarations: its origin is quarantined from it on.
        case refused
        /// A ward node's change names a commit this node does not hold yet: tried again at the next start.
        case waits
    }

    /// Merges commit `seq` of `origin` again for the tables and columns in `grown`, judged as a node
    /// that declared them when it arrived would have judged it (declared rules, and a ward node's
    /// changes to rows of `owned-by` tables against the commit they name).
    mutating func remerge(origin: NodeID, seq: UInt64, grown: [String: Int]) throws -> RemergeOutcome {
        let forget = "DELETE FROM _sf_unread WHERE origin = ? AND seq = ?"
        guard let body = try CommitStore(db: db).body(origin, seq: seq) else { return .refused }
        let identity = try identify(origin, credential: [])
        let checked = Result { () throws(CommitViolation) in
            try CommitRules.check(body, seq: seq, by: identity, tables: replica.tables, limits: ChangeBatch.Limits())
        }
        guard case .success(let decoded) = checked else {
            if case .failure(let violation) = checked { try quarantine(origin, seq: seq, violation) }
            try db.execute(sql: forget, arguments: [origin.databaseValue, Int64(seq)])
            return .refused
        }
        let relevant = decoded.deltas.filter { grown[$0.table] != nil }
        // Every commit it names is stored (or not yet arrived): no run of its own to look in.
        let alone = ChainSegment(origin: origin, credential: [], firstSeq: seq, previousHash: [], bodies: [], signature: [])
        switch try judgeOwnerWrites(relevant, seq: seq, in: alone, identity: identity) {
        case .holds:
            break
        case .waits:
            return .waits
        case .broken(let violation):
            try quarantine(origin, seq: seq, violation)
            try db.execute(sql: forget, arguments: [origin.databaseValue, Int64(seq)])
            return .refused
        }
        currentCommit = (origin, seq)
        for delta in relevant {
            try mergeDeclaredSince(grown[delta.table]!, delta, of: CommitReference(origin: origin, seq: seq))
        }
        currentCommit = nil
        if !decoded.hasUnread { try db.execute(sql: forget, arguments: [origin.databaseValue, Int64(seq)]) }
        return .merged
    }

    /// Merges what `delta` writes of a table newly declared (`from` 0) or of its columns from
    /// position `from` on; the rest of the delta was merged when its commit arrived.
    mutating func mergeDeclaredSince(_ from: Int, _ delta: RowDelta, of commit: CommitReference) throws {
        guard from > 0 else { return try merge(delta) }
        guard case .columns(let columns) = delta.body, let table = replica.tables[delta.table] else { return }
        var added = WrittenColumns(width: table.declaration.columns.count)
        for (index, column) in columns where index >= from { added[index] = column }
        guard !added.isEmpty else { return }
        try flushPending()
        guard try store.tombstone(table, key: delta.key) == nil else { return }
        guard let existing = try store.load(table, key: delta.key) else {
            // The row's first write has not arrived: the change waits whole, as on a node that
            // declared every column when it arrived (it replaces the part kept then).
            if !delta.isInsert { try OrphanAdoption(replica: replica, db: db, store: store).keep(table, delta.key, columns, origin: commit.origin, seq: commit.seq) }
            return
        }
        if table.isAppendOnly {
            // An append-only row is its one insert: only that insert's new columns complete it.
            guard delta.isInsert, Self.rowStamp(existing).origin == commit.origin, Self.rowStamp(existing).seq == commit.seq else { return }
        }
        var merged = existing
        for (index, incoming) in added {
            merged.columns[index] = ColumnMerge.merge(table.policies[index], existing.columns[index], incoming).state
        }
        guard merged != existing else { return }
        try store.replace(table, key: delta.key, old: existing, new: merged)
        markChanged(table, delta.key)
    }
}
