import Foundation
import GRDB

/// Changes to rows whose insert has not arrived yet (a relay sent one origin's update before
/// another origin's insert), kept aside in `_sf_orphan` under the commit that made them, and
/// merged into the row once it exists, so a half-known row never reaches the domain.
struct OrphanAdoption {
    let replica: Replica
    let db: Database
    let store: RowStore

    /// Keeps a change of commit `seq` of `origin` aside.
    func keep(_ table: ReplicatedTable, _ key: String, _ columns: WrittenColumns, origin: NodeID, seq: UInt64) throws {
        var writer = BinaryWriter()
        writer.writeVarint(1)
        CommitCodec.encode(RowDelta(table: table.name, key: key, body: .columns(columns)), to: &writer)
        replica.orphanTables.markBuried(table.id)
        try db.execute(
            sql: "INSERT OR REPLACE INTO _sf_orphan (tbl, pk, origin, seq, delta) VALUES (?, ?, ?, ?, ?)",
            arguments: [table.id, key, origin.databaseValue, Int64(seq), Data(writer.bytes)])
    }

    /// Merges every change kept for the row into it; returns the row's new state when that changed it.
    func adopt(_ table: ReplicatedTable, _ key: String) throws -> RowState? {
        guard try replica.orphanTables.mayHaveTombstones(table.id, db) else { return nil }
        let orphans = try Row.fetchAll(
            db, sql: "SELECT origin, seq, delta FROM _sf_orphan WHERE tbl = ? AND pk = ? ORDER BY origin, seq",
            arguments: [table.id, key])
        guard !orphans.isEmpty, let existing = try store.load(table, key: key) else { return nil }
        try drop(table, key)
        var merged = existing
        for orphan in orphans {
            let origin = NodeID(databaseValue: orphan[0])
            let seq = UInt64(orphan[1] as Int64)
            // Kept after the same checks: decoding again fails only if the file was altered.
            guard let decoded = try? CommitCodec.decode(Array(orphan[2] as Data), origin: origin, seq: seq, tables: replica.tables, limits: ChangeBatch.Limits()),
                let delta = decoded.deltas.first, case .columns(let columns) = delta.body
            else { continue }
            for (index, incoming) in columns {
                merged.columns[index] = ColumnMerge.merge(table.policies[index], merged.columns[index], incoming).state
            }
        }
        guard merged != existing else { return nil }
        try store.replace(table, key: key, old: existing, new: merged)
        return merged
    }

    /// Forgets the changes kept for a row (it was deleted).
    func drop(_ table: ReplicatedTable, _ key: String) throws {
        guard try replica.orphanTables.mayHaveTombstones(table.id, db) else { return }
        try db.execute(sql: "DELETE FROM _sf_orphan WHERE tbl = ? AND pk = ?", arguments: [table.id, key])
    }
}
