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
    /// a rekey's or renewal's files in flight, hidden files (a backup's own snapshot among them),
    /// the demo's SMS outbox, and central's pending one-time enrolment codes (a restored central
    /// must not take codes that were redeemed since the backup).
    static func isBackedUp(_ name: String) -> Bool {
        !(name.hasPrefix("replica.sqlite") || name.hasSuffix(".lock") || name.hasSuffix(rekeySuffix) || name.hasSuffix(".new")
            || name == wipedNotice || name == "sms-outbox.jsonl" || name.hasPrefix(".") || name == PendingEnrolments.file)
    }

    /// Where a backup's snapshot of the replica is written first: a hidden file in the node's own
    /// directory (owner-only, like the replica), a fresh random name each time.
    static let snapshotPrefix = ".backup-"

    /// Writes a backup of this node to `output` (a new file), whether or not the node runs.
    /// - Parameter now: ms since 1970, recorded in the manifest.
    /// - Throws: ``NodeSetupError`` when `output` exists, the node was wiped or is being rekeyed,
    ///   its key file lies inside its directory, or a file cannot be read or would not restore.
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
        if case .keyFile(let key)? = try configuration.unlock.map(UnlockSource.init), isInside(key) {
            throw NodeSetupError(
                "the node's key file \(key) lies inside its directory: a backup would carry it next to what it unlocks. Move it out (suifang rekey --new-unlock file:PATH) first"
            )
        }
        let sources = try backedUpFiles()
        let vault = try vault()
        removeStaleSnapshots()
        let snapshot = file(Self.snapshotPrefix + Data(Sodium.randomBytes(8)).map { String(format: "%02x", $0) }.joined() + ".replica")
        defer {
            for suffix in ["", "-journal", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: snapshot.path + suffix) }
        }
        let pages: Int
        do {
            pages = try replicaFile().backup(to: ReplicaFile(path: snapshot.path, encryption: vault?.encryption))
        } catch let error as ReplicaError {
            throw NodeSetupError(error.message)
        }
        return try writeArchive(
            sources + [("replica.sqlite", snapshot.path)], to: output, configuration: configuration, vault: vault, pages: pages, now: now)
    }

    /// The files a backup carries besides the replica: regular files only (a link is never
    /// followed out of the directory), each under a name restore accepts.
    private func backedUpFiles() throws -> [(name: String, path: String)] {
        var sources: [(name: String, path: String)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: url.path).sorted() where Self.isBackedUp(name) && name != NodeVault.envelopeFile {
            if name == "policies", isDirectory(file(name)) {
                for policy in try FileManager.default.contentsOfDirectory(atPath: policiesDirectory.path).sorted() where policy.hasSuffix(".policy") {
                    sources.append(("policies/\(policy)", policiesDirectory.appendingPathComponent(policy).path))
                }
            } else if !isDirectory(file(name)) {
                sources.append((name, file(name).path))
            }
        }
        for (name, path) in sources {
            guard (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeRegular else {
                throw NodeSetupError("\(path) is not a regular file (a link?): a backup carries only the node's own files. Move it out of the directory")
            }
            guard BackupManifest.isSafe(name) else {
                throw NodeSetupError("\(path) has a name a restore would refuse (ASCII letters, digits, . _ - only): rename it or move it out of the directory")
            }
        }
        guard sources.count < BackupArchive.maximumFiles else { throw NodeSetupError("\(url.path) holds more files than a backup carries") }
        return sources
    }

    /// Writes the archive next to `output` and moves it there, never over a file that appeared meanwhile.
    private func writeArchive(
        _ sources: [(name: String, path: String)], to output: String, configuration: NodeConfiguration, vault: NodeVault?, pages: Int, now: UInt64
    ) throws -> BackupReport {
        let manifest = BackupManifest(
            release: NodeRelease.version, node: configuration.name, role: configuration.role, nodeID: configuration.nodeID, createdAt: now,
            files: try sources.map { try BackupArchiveWriter.describe($0.path, as: $0.name) })
        let manifestBytes = Array(try JSONEncoder().encode(manifest))
        let partial = output + ".partial"
        let descriptor = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw NodeSetupError(
                "cannot create \(partial): \(String(cString: strerror(errno)))\(errno == EEXIST ? " (a backup to this name is under way or was interrupted: remove it)" : "")")
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
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
        // link() never replaces a file: the backup lands only where nothing is.
        guard link(partial, output) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: partial)
            throw NodeSetupError("cannot move the backup to \(output): \(reason)")
        }
        unlink(partial)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? NSNumber)?.uint64Value ?? 0
        return BackupReport(path: output, bytes: bytes, pages: pages, encrypted: vault != nil, manifest: manifest)
    }

    /// Snapshots a killed backup left behind (a day old: a backup still running is never that slow).
    private func removeStaleSnapshots() {
        let dayAgo = Date().addingTimeInterval(-86_400)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [] where name.hasPrefix(Self.snapshotPrefix) {
            let path = file(name).path
            if let modified = try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date, modified < dayAgo {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }

    /// Whether `path` names something inside this directory (links resolved).
    private func isInside(_ path: String) -> Bool {
        let directory = url.standardizedFileURL.resolvingSymlinksInPath().path + "/"
        let target = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        return target.hasPrefix(directory)
    }

    private func isDirectory(_ url: URL) -> Bool {
        (try? url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) ?? false
    }
}
