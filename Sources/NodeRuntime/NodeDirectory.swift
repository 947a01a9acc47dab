import Foundation
import Logging
import Replica
import Sodium
import SyncProtocol
import Synchronization

/// A node's data directory:
///
/// ```
/// node.json        configuration (name, role, node id, listen address, peers, where the unlock secret is)
/// replica.key      the data key, sealed under the unlock secret (encrypted nodes)
/// node.key         the node's Ed25519 secret key, sealed under the data key when encrypted
/// node.cert        its certificate, signed by the cluster key
/// cluster.pub      the cluster's public key
/// cluster.key      the cluster's secret key (central only), sealed like node.key
/// policies/        the conflict policies this node loads
/// replica.sqlite   the replica (every page encrypted under the data key when encrypted)
/// ```
/// Every file is created owner-only (the binary sets umask 077 first thing).
package struct NodeDirectory {
    package let url: URL
    /// Overrides node.json's `unlock` (`--unlock`); `SUIFANG_UNLOCK` comes next.
    package let unlockOverride: UnlockSource?
    let vaultCache = VaultCache()

    package init(_ path: String, unlock: UnlockSource? = nil) {
        url = URL(fileURLWithPath: path)
        unlockOverride = unlock
    }

    /// Whether the node's replica and secrets are encrypted (it has a sealed data key).
    package var isEncrypted: Bool { FileManager.default.fileExists(atPath: file(NodeVault.envelopeFile).path) }

    /// The node's unlocked secrets, or `nil` for a node in the clear. Unlocks once per value.
    /// - Throws: ``NodeSetupError`` when no unlock source is known or the secret does not fit.
    package func vault() throws -> NodeVault? {
        guard isEncrypted else { return nil }
        return try vaultCache.value {
            // Only with the node to itself: a running rekey (or serve) holds the lock.
            if let lock = try? NodeLock(self, purpose: "unlocking") {
                try withExtendedLifetime(lock) { try settleInterruptedRekey() }
            }
            let source = try unlockSource()
            let envelope: DataKeyEnvelope
            do {
                envelope = try JSONDecoder().decode(DataKeyEnvelope.self, from: Data(try read(NodeVault.envelopeFile)))
            } catch let error as NodeSetupError {
                throw error
            } catch {
                throw NodeSetupError("\(file(NodeVault.envelopeFile).path) is not a Suifang data-key file")
            }
            var secret = try source.secret()
            defer { Sodium.wipe(&secret) }
            return try NodeVault.open(envelope, secret: secret)
        }
    }

    /// Where this node's unlock secret is: `--unlock`, else `SUIFANG_UNLOCK`, else node.json.
    package func unlockSource() throws -> UnlockSource {
        if let given = try givenUnlockSource() { return given }
        if let text = try configuration().unlock { return try UnlockSource(text) }
        throw NodeSetupError("\(url.path) is encrypted: give --unlock file:PATH, credential:NAME or prompt")
    }

    /// The unlock secret given outside node.json (`--unlock`, else `SUIFANG_UNLOCK`), if any.
    package func givenUnlockSource() throws -> UnlockSource? {
        if let unlockOverride { return unlockOverride }
        if let text = ProcessInfo.processInfo.environment[UnlockSource.environmentVariable], !text.isEmpty { return try UnlockSource(text) }
        return nil
    }

    /// The replica's file as tools open it directly.
    package func replicaFile() throws -> ReplicaFile {
        ReplicaFile(path: replicaPath, encryption: try vault()?.encryption)
    }

    /// Writes a secret file: sealed under the data key when the node is encrypted, mode 0600 either way.
    package func writeSecret(_ bytes: [UInt8], to name: String) throws {
        try write(try vault().map { try $0.seal(bytes, as: name) } ?? bytes, to: name, secret: true)
    }

    /// Reads a secret file written by ``writeSecret(_:to:)``.
    package func readSecret(_ name: String) throws -> [UInt8] {
        let vault = try vault()  // first: unlocking may settle an interrupted rekey, which renames secrets
        let bytes = try read(name)
        return try vault.map { try $0.open(bytes, as: name) } ?? bytes
    }

    package func file(_ name: String) -> URL { url.appendingPathComponent(name) }
    package var replicaPath: String { file("replica.sqlite").path }
    package var policiesDirectory: URL { file("policies") }

    package var exists: Bool { FileManager.default.fileExists(atPath: file("node.json").path) }

    package func create() throws {
        guard !exists else { throw NodeSetupError("\(url.path) already holds a node; choose another --dir") }
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: url.path)
    }

    /// Owner-only modes on the node's directory (0700) and everything in it (files 0600,
    /// directories 0700), for a directory made before the binary set them at creation.
    package func restrictPermissions() throws {
        let manager = FileManager.default
        guard manager.fileExists(atPath: file("node.json").path) else {
            throw NodeSetupError("\(url.path) holds no node (no node.json): create one with `suifang init` or give the right --dir")
        }
        try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: url.path)
        guard let entries = manager.enumerator(at: url, includingPropertiesForKeys: [.isDirectoryKey]) else { return }
        for case let entry as URL in entries {
            let isDirectory = (try? entry.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) ?? false
            do {
                try manager.setAttributes([.posixPermissions: isDirectory ? 0o700 : 0o600], ofItemAtPath: entry.path)
            } catch  where !manager.fileExists(atPath: entry.path) {
                continue  // a WAL or journal SQLite removed meanwhile (another process closed the replica)
            }
        }
    }

    package func write(_ bytes: [UInt8], to name: String, secret: Bool = false) throws {
        let path = file(name).path
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: secret ? [.posixPermissions: 0o600] : nil) else {
            throw NodeSetupError("cannot write \(path)")
        }
    }

    package func read(_ name: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: file(name).path) else {
            throw NodeSetupError("\(file(name).path) is missing: is \(url.path) a node directory (suifang init)?")
        }
        return Array(data)
    }

    package func configuration() throws -> NodeConfiguration {
        do {
            return try JSONDecoder().decode(NodeConfiguration.self, from: Data(try read("node.json")))
        } catch let error as NodeSetupError {
            throw error
        } catch {
            throw NodeSetupError("\(file("node.json").path) is not valid node configuration")
        }
    }

    package func save(_ configuration: NodeConfiguration) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try write(Array(try encoder.encode(configuration)), to: "node.json")
    }

    package func identity() throws -> NodeIdentity {
        do {
            let key = try SigningKey(secretKey: try readSecret("node.key"))
            let certificate = try NodeCertificate(decoding: try read("node.cert"))
            return try NodeIdentity(key: key, certificate: certificate, clusterKey: try read("cluster.pub"))
        } catch let error as SyncError {
            throw NodeSetupError("the node's identity files are unusable: \(error.message)")
        }
    }

    /// The policy set from `policies/` (or `override`).
    package func policies(override: String? = nil) throws -> PolicySet {
        // `policies install` was stopped between its two renames: the set it replaced is still whole.
        let retired = url.appendingPathComponent("policies.old")
        if override == nil, !FileManager.default.fileExists(atPath: policiesDirectory.path), FileManager.default.fileExists(atPath: retired.path) {
            try? FileManager.default.moveItem(at: retired, to: policiesDirectory)
        }
        do {
            return try PolicySet.load(directory: override.map { URL(fileURLWithPath: $0) } ?? policiesDirectory)
        } catch {
            throw NodeSetupError(error.description)
        }
    }

    /// Copies the `.policy` files of `source` into `policies/`.
    package func installPolicies(from source: URL) throws {
        try FileManager.default.createDirectory(at: policiesDirectory, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where name.hasSuffix(".policy") {
            let target = policiesDirectory.appendingPathComponent(name)
            try? FileManager.default.removeItem(at: target)
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: target)
        }
    }

    /// SQLite's heap beyond the page caches: prepared statements, schema, sorters.
    static let sqliteHeapHeadroomKiB = 8 * 1024

    /// Opens the replica as `identity`: it signs its commits with the node's key and writes only what
    /// its certificate's role may; commits of nodes in `revokedNode` are refused.
    package func openReplica(policies: PolicySet, identity: NodeIdentity, logger: Logger, wallClock: any WallClock = SystemWallClock()) throws -> Replica {
        var configuration = ReplicaConfiguration(nodeID: identity.nodeID, policies: policies, wallClock: wallClock, logger: logger)
        configuration.authority = CertificateTrust(identity: identity)
        configuration.revocationTable = policies.table(named: "revokedNode") == nil ? nil : "revokedNode"
        configuration.encryption = try vault()?.encryption
        // One replica per node process: SQLite's whole heap stays near the replica's page caches.
        Replica.limitSQLiteHeap(toKiB: configuration.pageCacheBudgetKiB + Self.sqliteHeapHeadroomKiB)
        return try Replica.open(at: replicaPath, configuration: configuration)
    }
}

/// `node.json`.
package struct NodeConfiguration: Codable {
    package var name: String
    package var role: String
    package var nodeID: String
    /// Where the sync listener binds, `host:port`.
    package var listen: String
    /// Peers this node connects to, `host:port` each.
    package var peers: [String]
    /// Where the HTTP API listens, `host:port` (none when absent).
    package var http: String?
    /// Where the secret that unlocks the data key is (``UnlockSource``: `file:PATH`,
    /// `credential:NAME` or `prompt`); never the secret itself. Absent for a node in the clear.
    package var unlock: String?
    /// Where the HIS's HL7 v2 ADT feed (MLLP) is received, `host:port` (none when absent).
    package var mllp: String?
    /// The addresses allowed to connect to `mllp` (the HIS interface engine).
    package var mllpAllow: [String]?
    /// The SMS centre (central only): Kannel's smsbox. Without it central writes SMS to
    /// `sms-outbox.jsonl`, for the demo only.
    package var kannel: KannelConfiguration?
    /// Backups the running node takes by itself (central, usually); none when absent.
    package var backup: BackupSchedule?

    package init(name: String, role: String, nodeID: String, listen: String, peers: [String], http: String? = nil, unlock: String? = nil) {
        self.name = name
        self.role = role
        self.nodeID = nodeID
        self.listen = listen
        self.peers = peers
        self.http = http
        self.unlock = unlock
    }
}

/// `host:port`.
package struct Endpoint: CustomStringConvertible {
    package var host: String
    package var port: Int

    package init(_ text: String) throws {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw NodeSetupError("'\(text)' is not HOST:PORT")
        }
        host = String(text[..<colon])
        self.port = port
    }

    package var description: String { "\(host):\(port)" }

    /// Whether the host is a loopback address or `localhost`.
    package var isLoopback: Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}

/// The vault a ``NodeDirectory`` value unlocked, kept so one value unlocks once (a passphrase is
/// asked once, Argon2id runs once).
final class VaultCache: Sendable {
    private let stored = Mutex<NodeVault?>(nil)

    func value(_ make: () throws -> NodeVault) throws -> NodeVault {
        try stored.withLock { stored in
            if let stored { return stored }
            let vault = try make()
            stored = vault
            return vault
        }
    }

    /// Keeps a vault made rather than unlocked (a new node's).
    func store(_ vault: NodeVault) {
        stored.withLock { $0 = vault }
    }
}
