import Foundation
import Replica
import Sodium
import SyncProtocol

/// `suifang backup`: the node's directory as one ``BackupArchive`` file, taken while the node runs.
extension NodeDirectory {
    /// What a backup wrote.
    package struct BackupReport: Sendable {
        package var path: String
        package var bytes: UInt64
        package var pages: Int
        package var encrypted: Bool
        package var manifest: BackupManifest
    }

    /// Files a backup never carries: the replica's live files (a snapshot goes instead), locks,
    /// a rekey's or renewal's files in flight, the demo's SMS outbox.
    static func isBackedUp(_ name: String) -> Bool {
        !(name.hasPrefix("replica.sqlite") || name.hasSuffix(".lock") || name.hasSuffix(rekeySuffix) || name.hasSuffix(".new")
            || name == wipedNotice || name == "sms-outbox.jsonl" || name.hasPrefix("."))
    }

    /// Writes a backup of this node to `output` (a new file), whether or not the node runs.
    /// - Parameter now: ms since 1970, recorded in the manifest.
    /// - Throws: ``NodeSetupError`` when `output` exists, the node was wiped or is being rekeyed,
    ///   or a file cannot be read.
    package func backup(to output: String, now: UInt64) throws -> BackupReport {
        guard exists else { throw NodeSetupError("\(url.path) holds no node (no node.json): give the node's --dir") }
        guard wipeNotice == nil else { throw NodeSetupError("\(url.path) was wiped: there is nothing to back up") }
        guard !FileManager.default.fileExists(atPath: output) else { throw NodeSetupError("\(output) already exists: a backup never writes over a file") }
        // A running serve holds the lock and no rekey can start; otherwise this backup holds it.
        let lock = try? NodeLock(self, purpose: "backing it up")
        defer { withExtendedLifetime(lock) {} }
        guard !FileManager.default.fileExists(atPath: replicaPath + Self.rekeySuffix) else {
            throw NodeSetupError("a rekey of \(url.path) is under way or was interrupted: unlock the node (suifang status) and back it up after")
        }
        let configuration = try configuration()
        let vault = try vault()
        let snapshot = URL(fileURLWithPath: output).deletingLastPathComponent().appendingPathComponent(".\(URL(fileURLWithPath: output).lastPathComponent).replica")
        try? FileManager.default.removeItem(at: snapshot)
        defer { try? FileManager.default.removeItem(at: snapshot) }
        let pages: Int
        do {
            pages = try replicaFile().backup(to: ReplicaFile(path: snapshot.path, encryption: vault?.encryption))
        } catch let error as ReplicaError {
            throw NodeSetupError(error.message)
        }
        var sources: [(name: String, path: String)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: url.path).sorted() where Self.isBackedUp(name) {
            if name == "policies" {
                for policy in try FileManager.default.contentsOfDirectory(atPath: policiesDirectory.path).sorted() where policy.hasSuffix(".policy") {
                    sources.append(("policies/\(policy)", policiesDirectory.appendingPathComponent(policy).path))
                }
            } else if name != NodeVault.envelopeFile, !isDirectory(file(name)) {
                sources.append((name, file(name).path))
            }
        }
        sources.append(("replica.sqlite", snapshot.path))
        let manifest = BackupManifest(
            release: NodeRelease.version, node: configuration.name, role: configuration.role, nodeID: configuration.nodeID, createdAt: now,
            files: try sources.map { try BackupArchiveWriter.describe($0.path, as: $0.name) })
        let manifestBytes = Array(try JSONEncoder().encode(manifest))
        let partial = output + ".partial"
        guard FileManager.default.createFile(atPath: partial, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forWritingAtPath: partial)
        else { throw NodeSetupError("cannot write \(output)") }
        do {
            defer { try? handle.close() }
            let writer = BackupArchiveWriter(output: handle)
            try writer.writeHeader(
                envelope: vault == nil ? [] : try read(NodeVault.envelopeFile),
                manifest: try vault.map { try $0.seal(manifestBytes, as: BackupArchive.manifestContext) } ?? manifestBytes)
            for (source, file) in zip(sources, manifest.files) { try writer.copy(source.path, expecting: file) }
            try handle.synchronize()
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
        guard rename(partial, output) == 0 else { throw NodeSetupError("cannot move the backup to \(output)") }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? NSNumber)?.uint64Value ?? 0
        return BackupReport(path: output, bytes: bytes, pages: pages, encrypted: vault != nil, manifest: manifest)
    }

    private func isDirectory(_ url: URL) -> Bool {
        (try? url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) ?? false
    }
}
