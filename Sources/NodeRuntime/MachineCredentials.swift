import Foundation
import GRDB
import Replica
import Sodium

/// What a machine credential lets its holder do. Each scope opens named routes and nothing else;
/// a machine credential never acts as a person's session.
package enum MachineScope: String, CaseIterable, Codable, Sendable {
    /// The phone system: `POST /api/screen-pop` and `GET /api/callerid`.
    case screenPop = "screen-pop"
    /// The SMS gateway's callbacks: delivery reports and inbound messages (`/api/sms/kannel/…`,
    /// `POST /api/sms/delivery-report`, `POST /api/sms/inbound`).
    case smsGateway = "sms-gateway"
    /// Reading patients, encounters, survey templates and responses as FHIR R4 (`/fhir/…`).
    case fhir
    /// A department's survey kiosk: the `/kiosk/…` pages only (answers recorded with mode kiosk).
    case kiosk
    /// Prometheus: `GET /metrics` (counts and states of the node; no patient data).
    case metrics
}

/// A credential for a machine (the PBX, the HIS engine, the SMS gateway's callbacks): a name, its
/// scopes, and when it was made, last used and revoked. The secret itself is shown once and kept
/// only as a hash.
package struct MachineCredential: Codable, Sendable, Equatable {
    package var name: String
    package var scopes: [MachineScope]
    /// ms since 1970.
    package var createdAt: Int64
    package var lastUsedAt: Int64?
    package var revokedAt: Int64?

    /// Whether the credential is live and holds `scope`.
    package func allows(_ scope: MachineScope) -> Bool { revokedAt == nil && scopes.contains(scope) }
}

/// Machine credentials of this node, in the local (not replicated) table `_machine_credential`
/// of its encrypted replica: `suifang token create|list|revoke` and the admin page manage them,
/// the HTTP API checks them.
package struct MachineCredentialStore: Sendable {
    package let replica: Replica
    /// Every machine token starts with this, so it is never mistaken for a session token.
    package static let prefix = "sfm_"
    /// How often the last-use time is written at most (ms).
    static let lastUseResolution: Int64 = 60_000

    package init(replica: Replica) {
        self.replica = replica
    }

    package func prepare() throws {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("node-3-machine-credentials") { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS _machine_credential (
                        name TEXT PRIMARY KEY,
                        scopes TEXT NOT NULL,
                        secretHash BLOB NOT NULL UNIQUE,
                        createdAt INTEGER NOT NULL,
                        lastUsedAt INTEGER,
                        revokedAt INTEGER)
                    """)
        }
        try replica.migrateLocal(migrator)
    }

    /// Makes a credential and returns its secret token (shown once).
    /// - Throws: ``NodeSetupError`` for a bad name, no scope, or a name already in use.
    package func create(name: String, scopes: [MachineScope]) throws -> String {
        guard (1...40).contains(name.count), name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw NodeSetupError("a credential's name is 1 to 40 letters, digits, '-' or '_' (e.g. pbx, his-engine)")
        }
        guard !scopes.isEmpty else { throw NodeSetupError("give at least one --scope (\(MachineScope.allCases.map(\.rawValue).joined(separator: ", ")))") }
        let token =
            Self.prefix
            + Data(Sodium.randomBytes(32)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let now = Int64(clamping: replica.wallClock.now())
        try replica.writeLocal { db in
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM _machine_credential WHERE name = ?)", arguments: [name]) == true {
                throw NodeSetupError("a credential named '\(name)' exists (revoked ones keep their name): choose another name")
            }
            try db.execute(
                sql: "INSERT INTO _machine_credential (name, scopes, secretHash, createdAt) VALUES (?, ?, ?, ?)",
                arguments: [name, Set(scopes).map(\.rawValue).sorted().joined(separator: ","), Data(Self.hash(token)), now])
        }
        return token
    }

    /// Every credential, revoked ones too, by name.
    package func list() throws -> [MachineCredential] {
        try replica.reader.read { db in
            guard try db.tableExists("_machine_credential") else { return [] }
            return try Row.fetchAll(db, sql: "SELECT * FROM _machine_credential ORDER BY name").map(Self.credential)
        }
    }

    /// Revokes a credential at once.
    /// - Throws: ``NodeSetupError`` when there is none of that name.
    package func revoke(name: String) throws {
        let now = Int64(clamping: replica.wallClock.now())
        try replica.writeLocal { db in
            try db.execute(sql: "UPDATE _machine_credential SET revokedAt = COALESCE(revokedAt, ?) WHERE name = ?", arguments: [now, name])
            guard db.changesCount > 0 else { throw NodeSetupError("no machine credential is named '\(name)'") }
        }
    }

    /// The live credential a token belongs to, or nil; records its use.
    package func authenticate(token: String) -> MachineCredential? {
        guard token.hasPrefix(Self.prefix), token.utf8.count < 200 else { return nil }
        let hash = Data(Self.hash(token)), now = Int64(clamping: replica.wallClock.now())
        guard
            let credential = try? replica.reader.read({ db in
                try Row.fetchOne(db, sql: "SELECT * FROM _machine_credential WHERE secretHash = ? AND revokedAt IS NULL", arguments: [hash]).map(Self.credential)
            })
        else { return nil }
        if now - (credential.lastUsedAt ?? 0) >= Self.lastUseResolution {
            try? replica.writeLocal { db in
                try db.execute(sql: "UPDATE _machine_credential SET lastUsedAt = ? WHERE name = ?", arguments: [now, credential.name])
            }
        }
        return credential
    }

    static func hash(_ token: String) -> [UInt8] {
        Sodium.hash([Array("suifang machine credential v1".utf8), Array(token.utf8)])
    }

    static func credential(_ row: Row) -> MachineCredential {
        MachineCredential(
            name: row["name"], scopes: (row["scopes"] as String).split(separator: ",").compactMap { MachineScope(rawValue: String($0)) },
            createdAt: row["createdAt"], lastUsedAt: row["lastUsedAt"], revokedAt: row["revokedAt"])
    }
}
