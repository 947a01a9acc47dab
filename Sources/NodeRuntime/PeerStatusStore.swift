import Foundation
import GRDB
import Replica

/// What this node knows of each peer it synced with: a local, non-replicated table
/// (`_node_peer`) that `suifang status` reads, whether or not the daemon runs.
package struct PeerStatusStore: Sendable {
    package let replica: Replica

    package struct Peer: Codable {
        package var name: String
        package var nodeId: String
        /// The role its certificate names (central, ward, callcenter); nil until it has connected.
        package var role: String?
        package var address: String
        package var connected: Bool
        package var lastContact: Int64
        package var peerVector: VersionVector
        package var lastError: String?
        /// When the peer last held everything this node held (ms since 1970), if ever.
        package var caughtUpAt: Int64?
        /// When the certificate it last presented expires (ms since 1970); nil until it has connected.
        package var certificateExpiresAt: Int64?
    }

    package func prepare() throws {
        var migrator = DatabaseMigrator()
        // The baseline: files made before migrations may hold the table, with or without `role`.
        migrator.registerMigration("node-1-peer-status") { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS _node_peer (
                        name TEXT PRIMARY KEY,
                        nodeId TEXT NOT NULL,
                        address TEXT NOT NULL,
                        connected INTEGER NOT NULL,
                        lastContact INTEGER NOT NULL,
                        peerVector TEXT NOT NULL,
                        lastError TEXT,
                        caughtUpAt INTEGER,
                        role TEXT)
                    """)
            // Tables made before the role was kept get the column.
            if try !db.columns(in: "_node_peer").contains(where: { $0.name == "role" }) {
                try db.execute(sql: "ALTER TABLE _node_peer ADD COLUMN role TEXT")
            }
        }
        migrator.registerMigration("node-2-peer-certificate-expiry") { db in
            try db.execute(sql: "ALTER TABLE _node_peer ADD COLUMN certificateExpiresAt INTEGER")
        }
        try replica.migrateLocal(migrator)
    }

    package func record(
        name: String, nodeID: NodeID, role: String? = nil, address: String, connected: Bool, vector: VersionVector?, error: String? = nil,
        certificateExpiresAt: UInt64? = nil
    ) {
        let json = vector.flatMap { try? JSONEncoder().encode($0) }.map { String(decoding: $0, as: UTF8.self) }
        let now = Int64(clamping: replica.wallClock.now())
        let caughtUp = vector.flatMap { peer in (try? replica.versionVector()).map { peer.dominates($0) } } ?? false
        try? replica.writeLocal { db in
            try db.execute(
                sql: """
                    INSERT INTO _node_peer (name, nodeId, role, address, connected, lastContact, peerVector, lastError)
                    VALUES (?, ?, ?, ?, ?, ?, COALESCE(?, '{}'), ?)
                    ON CONFLICT (name) DO UPDATE SET nodeId = excluded.nodeId, role = COALESCE(excluded.role, role), address = excluded.address,
                        connected = excluded.connected, lastContact = excluded.lastContact,
                        peerVector = COALESCE(?, peerVector), lastError = excluded.lastError
                    """, arguments: [name, nodeID.description, role, address, connected, now, json, error, json])
            if let certificateExpiresAt {
                try db.execute(sql: "UPDATE _node_peer SET certificateExpiresAt = ? WHERE name = ?", arguments: [Int64(clamping: certificateExpiresAt), name])
            }
            if caughtUp {
                try db.execute(sql: "UPDATE _node_peer SET caughtUpAt = ? WHERE name = ?", arguments: [now, name])
            }
        }
    }

    /// A handshake with the peer at `address` failed: its row (if it has one) shows it
    /// disconnected, with the reason.
    package func recordRefusal(address: String, error: String) {
        try? replica.writeLocal { db in
            try db.execute(sql: "UPDATE _node_peer SET connected = 0, lastError = ? WHERE address = ?", arguments: [error, address])
        }
    }

    package func peers() throws -> [Peer] {
        try replica.reader.read { db in
            guard try db.tableExists("_node_peer") else { return [] }
            return try Row.fetchAll(db, sql: "SELECT * FROM _node_peer ORDER BY name").map { row in
                let vector = (try? JSONDecoder().decode(VersionVector.self, from: Data((row["peerVector"] as String).utf8))) ?? VersionVector()
                return Peer(
                    name: row["name"], nodeId: row["nodeId"], role: row["role"], address: row["address"], connected: row["connected"],
                    lastContact: row["lastContact"], peerVector: vector, lastError: row["lastError"], caughtUpAt: row["caughtUpAt"],
                    certificateExpiresAt: row["certificateExpiresAt"])
            }
        }
    }

    package init(replica: Replica) {
        self.replica = replica
    }
}
