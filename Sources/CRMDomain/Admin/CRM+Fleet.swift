import GRDB
import Replica

extension CRM.Organisation {
    /// Revokes a node (admins, on central): an append-only row in `revokedNode`, written and so
    /// signed by central, with its audit entry. Every node that receives it refuses the revoked
    /// node's handshakes and its commits after those this node holds now (`acceptedUpTo`),
    /// relayed or not. Revoking a node twice changes nothing.
    /// - Returns: false when the node was already revoked.
    /// - Throws: ``CRMError`` `.forbidden` for other roles; ``ReplicaError`` `.notAuthorized` on a
    ///   node whose certificate is not central's.
    @discardableResult
    public func revokeNode(_ caller: Caller, _ id: NodeID, name: String?) async throws -> Bool {
        try caller.require(.admin)
        if let name, name.count > 100 { throw CRMError.invalid("a node name is at most 100 characters") }
        let at = timestamp()
        // Revoking again changes nothing and leaves no audit entry.
        if try await read({ db in try Bool.fetchOne(db, sql: "SELECT 1 FROM revokedNode WHERE id = ?", arguments: [id.description]) == true }) {
            return false
        }
        return try await change(caller, "node.revoke", "revokedNode") { tx in
            guard try !tx.rowExists("revokedNode", id: id.description) else { return (false, id.description) }
            // What central holds of the node, up to the last head the node signed (so central can
            // relay all of it), stays: its past; anything later is refused everywhere.
            let accepted = try tx.newestSignedCommit(of: id)
            try tx.insert(
                RevokedNodeRecord(id: id.description, name: name, revokedAt: at, revokedBy: caller.userId, acceptedUpTo: Int64(clamping: accepted)))
            return (true, id.description)
        }
    }
}
