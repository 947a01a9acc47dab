import GRDB

/// The declared rules a received commit must keep, judged on the commit and its origin's identity
/// alone, so that every node reaches the same verdict: its bytes decode against the declared tables
/// (types, `not null`, lifecycles, bounds: ``CommitCodec``), its origin's role may write each table,
/// `no-delete` rows are not deleted, append-only rows are written whole once, a ward node
/// creates rows of `owned-by` tables only for its wards and under ids bound to the row's ward,
/// a node other than central creates append-only rows only under ids bound to itself
/// (``BoundRowID``), and a ward node's every other change to a row of an `owned-by` table
/// names the write of the owner column it saw (``RowDelta/ownerSeen``).
///
/// Whether that write put the row in one of the writer's wards is judged when the named commit is
/// at hand (``BatchMerger``): it is one fixed commit, so every node reaches the same verdict,
/// whatever it holds of the row now.
enum CommitRules {
    /// Decodes commit `seq` of `identity`'s node and checks it.
    /// - Returns: its row changes to declared tables and columns, the newest clock reading of its
    ///   own writes, and whether it changes what is not declared here (a later release's tables
    ///   or columns: skipped here, judged by the nodes that declare them).
    /// - Throws: ``CommitViolation`` naming the table and the first broken rule (never a value).
    static func check(
        _ body: [UInt8], seq: UInt64, by identity: OriginIdentity, tables: [String: ReplicatedTable],
        limits: ChangeBatch.Limits
    ) throws(CommitViolation) -> CommitCodec.Decoded {
        let role = identity.role
        let decoded = try CommitCodec.decode(body, origin: identity.nodeID, seq: seq, tables: tables, limits: limits)
        for delta in decoded.deltas {
            let table = tables[delta.table]!
            guard table.declaration.writers.contains(role) else {
                throw CommitViolation(table: table.name, "a \(role) node may not write table '\(table.name)'")
            }
            switch delta.body {
            case .tombstone:
                guard table.declaration.deletable, !table.isAppendOnly else {
                    throw CommitViolation(table: table.name, "rows of table '\(table.name)' are never deleted")
                }
                if role == .ward, table.declaration.ownerColumn != nil {
                    throw CommitViolation(table: table.name, "a ward node may not delete rows of table '\(table.name)' (they belong to wards)")
                }
            case .columns(let columns):
                if table.isAppendOnly, !delta.isInsert {
                    throw CommitViolation(table: table.name, "rows of append-only table '\(table.name)' are written whole, once")
                }
                if delta.isInsert, table.isAppendOnly, role != .central, !BoundRowID.isBound(delta.key, toNode: identity.nodeID) {
                    throw CommitViolation(table: table.name, "a \(role) node creates rows of append-only table '\(table.name)' only under ids bound to itself")
                }
                if delta.isInsert, role == .ward, let owner = table.declaration.ownerColumn, let index = table.columnIndexes[owner] {
                    let ward = columns[index].flatMap { String.fromDatabaseValue($0.value) }
                    guard identity.mayWrite(forWard: ward) else {
                        throw CommitViolation(table: table.name, "a ward node may create rows of table '\(table.name)' only for the wards its certificate names")
                    }
                    guard table.isAppendOnly || BoundRowID.isBound(delta.key, toWard: ward) else {
                        throw CommitViolation(table: table.name, "a ward node creates rows of table '\(table.name)' only under ids bound to their ward")
                    }
                }
                if !delta.isInsert, role == .ward, table.declaration.ownerColumn != nil, delta.ownerSeen == nil {
                    throw CommitViolation(table: table.name, "a ward node's change to a row of table '\(table.name)' must name the write that put the row in its ward")
                }
            }
        }
        return decoded
    }
}

extension Replica {
    /// Judges a commit body as this replica would judge it from `identity`'s node (for fuzzing and
    /// tools): nil when it keeps every declared rule, else the broken rule. Writes nothing.
    package func brokenRule(inCommit body: [UInt8], seq: UInt64 = 1, by identity: OriginIdentity) -> String? {
        do throws(CommitViolation) {
            _ = try CommitRules.check(body, seq: seq, by: identity, tables: tables, limits: ChangeBatch.Limits())
            return nil
        } catch {
            return error.rule
        }
    }
}
