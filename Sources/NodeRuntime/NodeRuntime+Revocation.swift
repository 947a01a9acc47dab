import Foundation
import GRDB
import Replica

extension NodeRuntime {
    /// Revokes a node: an append-only row in `revokedNode`, written (and so signed) by central.
    /// Every node that receives it refuses the revoked node's handshakes and its commits after
    /// those this node holds now (`acceptedUpTo`), relayed or not. Revoking a node twice changes nothing.
    /// - Returns: false when the node was already revoked.
    /// - Throws: ``ReplicaError`` `.notAuthorized` on any node whose certificate is not central's.
    @discardableResult
    package func revoke(_ id: NodeID, name: String?, by who: String, at time: String) throws -> Bool {
        try replica.write { tx in
            guard try !(Bool.fetchOne(tx.db, sql: "SELECT EXISTS (SELECT 1 FROM revokedNode WHERE id = ?)", arguments: [id.description]) ?? false) else {
                return false
            }
            // What central holds of the node, up to the last head the node signed (so central can
            // relay all of it), stays: its past; anything later is refused everywhere.
            let accepted = try tx.newestSignedCommit(of: id)
            try tx.insert(
                into: "revokedNode",
                values: [
                    "name": name, "revokedAt": time, "revokedBy": who,
                    Replica.revocationCutoffColumn: Int64(clamping: accepted),
                ], id: id.description)
            return true
        }
    }
}
