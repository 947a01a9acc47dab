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
    /// breaks a rule of the new declarations is reported as a rejection and not merged (the nodes
    /// that declared them when it arrived quarantined its origin).
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
            var merged = 0
            for (origin, seq) in unread {
                var commits = try CommitStore(db: db).commits(origin, after: seq - 1, upTo: seq)
                guard let body = try commits.next()?.body else { continue }
                let decoded: CommitCodec.Decoded
                do {
                    decoded = try CommitRules.check(body, seq: seq, by: try merger.identify(origin, credential: []), tables: tables, limits: ChangeBatch.Limits())
                } catch let violation as CommitViolation {
                    try db.execute(
                        sql: "INSERT INTO _sf_rejection (tbl, pk, origin, reason, seenAt) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET seenAt = excluded.seenAt",
                        arguments: [violation.table ?? "", "commit \(seq)", origin.databaseValue, violation.rule, Int64(wallClock.now())])
                    try db.execute(sql: "DELETE FROM _sf_unread WHERE origin = ? AND seq = ?", arguments: [origin.databaseValue, Int64(seq)])
                    continue
                }
                merger.currentCommit = (origin, seq)
                for delta in decoded.deltas {
                    guard let from = grown[delta.table] else { continue }
                    try merger.mergeDeclaredSince(from, delta)
                }
                merger.currentCommit = nil
                merged += 1
                if !decoded.hasUnread {
                    try db.execute(sql: "DELETE FROM _sf_unread WHERE origin = ? AND seq = ?", arguments: [origin.databaseValue, Int64(seq)])
                }
            }
            logger.notice(
                "merged again the commits an older release read only in part",
                metadata: ["replica.commits": "\(merged)", "replica.tables": "\(grown.keys.sorted().joined(separator: ","))"])
            return try merger.finish().1
        }
        if let event { observers.emit(event) }
    }
}

extension BatchMerger {
    /// Merges what `delta` writes of a table newly declared (`from` 0) or of its columns from
    /// position `from` on; the rest of the delta was merged when its commit arrived.
    mutating func mergeDeclaredSince(_ from: Int, _ delta: RowDelta) throws {
        guard from > 0 else { return try merge(delta) }
        guard case .columns(let columns) = delta.body, let table = replica.tables[delta.table] else { return }
        var added = WrittenColumns(width: table.declaration.columns.count)
        for (index, column) in columns where index >= from { added[index] = column }
        guard !added.isEmpty else { return }
        try flushPending()
        guard try store.tombstone(table, key: delta.key) == nil, let existing = try store.load(table, key: delta.key) else { return }
        var merged = existing
        for (index, incoming) in added {
            merged.columns[index] = ColumnMerge.merge(table.policies[index], existing.columns[index], incoming).state
        }
        guard merged != existing else { return }
        try store.replace(table, key: delta.key, old: existing, new: merged)
        markChanged(table, delta.key)
    }
}
