import Foundation
import GRDB
import Replica
import Sodium

/// `suifang rekey`: a new data key for a stopped node. The replica's pages and the sealed secrets
/// are re-encrypted into `*.rekey` files beside the originals, fsynced, then renamed over them in a
/// fixed order, `replica.key` last:
///
/// 1. `replica.sqlite.rekey` → `replica.sqlite` (the commit point),
/// 2. `node.key.rekey`, `cluster.key.rekey` → their names,
/// 3. `replica.key.rekey` → `replica.key`.
///
/// A rekey cut short by a crash is settled the next time the node is unlocked
/// (``NodeDirectory/settleInterruptedRekey()``): before the commit point the `.rekey` files are
/// dropped (the old key still opens everything); after it the remaining renames are done.
/// Nothing is lost either way: the node was stopped, and every page is moved whole.
extension NodeDirectory {
    static let rekeySuffix = ".rekey"
    static let sealedSecrets = ["node.key", "cluster.key"]

    /// What a rekey did.
    package struct RekeyReport: Sendable {
        package var pages: Int
        package var secrets: [String]
        package var unlock: String
    }

    /// Re-encrypts the node under a fresh data key, sealed under `newUnlock` (or the current
    /// unlock secret when nil). The node must be stopped.
    /// - Throws: ``NodeSetupError`` when the node runs, is not encrypted, or a page fails authentication.
    package func rekey(newUnlock: UnlockSource?) throws -> RekeyReport {
        guard isEncrypted else { throw NodeSetupError("\(url.path) is not encrypted at rest: there is no data key to rotate") }
        let lock = try NodeLock(self, purpose: "rekey")
        defer { withExtendedLifetime(lock) {} }
        guard let old = try vault() else { throw NodeSetupError("\(url.path) is not encrypted at rest") }
        try checkpoint(old)
        let target = try newUnlock ?? unlockSource()
        if case .keyFile(let path) = target { try UnlockSource.createKeyFile(at: path) }
        var secret = try target.secret()
        defer { Sodium.wipe(&secret) }
        let (new, envelope) = try NodeVault.create(secret: secret, passphrase: target.isPassphrase)

        let pages: Int
        do {
            pages = try old.encryption.reencrypt(databaseAt: replicaPath, into: replicaPath + Self.rekeySuffix, under: new.encryption)
        } catch let error as ReplicaError {
            try? FileManager.default.removeItem(atPath: replicaPath + Self.rekeySuffix)
            throw NodeSetupError(error.message)
        }
        var secrets: [String] = []
        for name in Self.sealedSecrets where FileManager.default.fileExists(atPath: file(name).path) {
            var plain = try old.open(try read(name), as: name)
            defer { Sodium.wipe(&plain) }
            try write(try new.seal(plain, as: name), to: name + Self.rekeySuffix, secret: true)
            secrets.append(name)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try write(Array(try encoder.encode(envelope)), to: NodeVault.envelopeFile + Self.rekeySuffix, secret: true)
        try synchronize(names: [replicaPath, NodeVault.envelopeFile] + secrets)

        try rename(replicaPath + Self.rekeySuffix, to: replicaPath)
        try settleInterruptedRekey()
        if let newUnlock {
            var configuration = try configuration()
            configuration.unlock = newUnlock.description
            try save(configuration)
        }
        vaultCache.store(new)
        try verifyReadable(new)
        return RekeyReport(pages: pages, secrets: secrets, unlock: target.description)
    }

    /// Finishes or drops a rekey a crash cut short (see the type's documentation). Runs before
    /// the node is unlocked.
    package func settleInterruptedRekey() throws {
        let pendingEnvelope = file(NodeVault.envelopeFile + Self.rekeySuffix).path
        guard FileManager.default.fileExists(atPath: pendingEnvelope) else {
            try? FileManager.default.removeItem(atPath: replicaPath + Self.rekeySuffix)
            return
        }
        if FileManager.default.fileExists(atPath: replicaPath + Self.rekeySuffix) {
            // Before the commit point: the old key still opens everything.
            for name in ["replica.sqlite", NodeVault.envelopeFile] + Self.sealedSecrets {
                try? FileManager.default.removeItem(atPath: file(name + Self.rekeySuffix).path)
            }
            return
        }
        for name in Self.sealedSecrets where FileManager.default.fileExists(atPath: file(name + Self.rekeySuffix).path) {
            try rename(file(name + Self.rekeySuffix).path, to: file(name).path)
        }
        try rename(pendingEnvelope, to: file(NodeVault.envelopeFile).path)
    }

    /// Folds the WAL into the database file and leaves no connection open.
    private func checkpoint(_ vault: NodeVault) throws {
        let queue = try ReplicaFile(path: replicaPath, encryption: vault.encryption).queue()
        let busy = try queue.writeWithoutTransaction { db in
            try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")?[0] as Int?
        }
        guard busy == 0 else { throw NodeSetupError("the replica's log could not be folded in (a reader holds it): stop every process using the node") }
        try queue.close()
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: replicaPath + suffix) }
    }

    private func verifyReadable(_ vault: NodeVault) throws {
        let result = try ReplicaFile(path: replicaPath, encryption: vault.encryption).queue().read { db in
            try ReplicaIntegrity.check(db, quick: true)
        }
        guard result == "ok" else { throw NodeSetupError("the re-encrypted replica fails SQLite's check: \(result)") }
    }

    private func rename(_ from: String, to: String) throws {
        guard Foundation.rename(from, to) == 0 else { throw NodeSetupError("cannot rename \(from) to \(to): \(String(cString: strerror(errno)))") }
        synchronizeDirectory()
    }

    private func synchronize(names: [String]) throws {
        for name in names {
            let path = name.hasPrefix("/") ? name + Self.rekeySuffix : file(name + Self.rekeySuffix).path
            let descriptor = open(path, O_RDONLY)
            guard descriptor >= 0 else { throw NodeSetupError("cannot open \(path)") }
            defer { close(descriptor) }
            guard fsync(descriptor) == 0 else { throw NodeSetupError("cannot flush \(path) to disk") }
        }
        synchronizeDirectory()
    }

    private func synchronizeDirectory() {
        let descriptor = open(url.path, O_RDONLY)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}
