import Foundation
import Sodium

/// The file `suifang backup` writes: a node's directory as one file, its replica a consistent
/// snapshot.
///
/// ```
/// "SFBK" | format u8 (1) | envelopeLength u32le | envelope      replica.key as it is on disk (sealed
///                                                              under the unlock secret); empty in the clear
///        | manifestLength u32le | manifest                     JSON (BackupManifest), sealed under the
///                                                              data key when there is an envelope
///        | body*                                               each manifest file's bytes, in its order
/// ```
/// An encrypted node's backup is as safe as its directory: the replica's pages stay sealed under
/// the data key, its secret keys stay sealed, and the manifest, which names every file's BLAKE2b
/// hash, is sealed (authenticated) under the data key, so no byte of the archive can be changed
/// without restore refusing it. Nothing in it opens without the node's unlock secret.
package enum BackupArchive {
    static let magic = Array("SFBK".utf8)
    static let format: UInt8 = 1
    /// Bounds a restore checks before it believes a length it read.
    static let maximumEnvelopeBytes = 1 << 16
    static let maximumManifestBytes = 4 << 20
    static let maximumFiles = 10_000
    /// What the manifest is sealed as (bound to its bytes, so no other sealed file opens as one).
    static let manifestContext = "backup manifest"
}

/// What a backup holds: where it came from, and each file with its size and hash.
package struct BackupManifest: Codable, Sendable {
    package struct File: Codable, Sendable, Equatable {
        /// The file's path in the node's directory (`node.json`, `policies/admin.policy`).
        package var name: String
        package var size: UInt64
        /// BLAKE2b-256 of its bytes, hex.
        package var hash: String
    }

    package var format = 1
    /// The release that wrote it.
    package var release: String
    package var node: String
    package var role: String
    package var nodeID: String
    /// When the replica's snapshot was taken, ms since 1970.
    package var createdAt: UInt64
    package var files: [File]

    /// Whether a name may be restored: a plain file name, or one inside `policies/`; no path
    /// leaves the directory it is restored into.
    static func isSafe(_ name: String) -> Bool {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.count == 1 || parts[0] == "policies" else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.count <= 128 && part != "." && part != ".."
                && part.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil || "._-".unicodeScalars.contains($0)) }
        }
    }
}

/// Writes an archive: header, manifest, then each file's bytes streamed from where it is.
struct BackupArchiveWriter {
    let output: FileHandle

    func writeHeader(envelope: [UInt8], manifest: [UInt8]) throws {
        var header = BackupArchive.magic + [BackupArchive.format]
        header += Self.u32(envelope.count) + envelope + Self.u32(manifest.count) + manifest
        try output.write(contentsOf: header)
    }

    /// Copies a file's bytes in chunks, checking they are still what the manifest says.
    func copy(_ path: String, expecting file: BackupManifest.File) throws {
        guard try Self.describe(path, as: file.name, copyingTo: output) == file else {
            throw NodeSetupError("\(file.name) changed while it was being backed up: run the backup again")
        }
    }

    /// Size and hash of a file as it is now, its bytes written to `sink` on the way when given.
    static func describe(_ path: String, as name: String, copyingTo sink: FileHandle? = nil) throws -> BackupManifest.File {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { throw NodeSetupError("cannot read \(path): \(String(cString: strerror(errno)))") }
        let input = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        defer { try? input.close() }
        let hash = Blake2b256()
        var size: UInt64 = 0
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
            hash.update(chunk)
            size += UInt64(chunk.count)
            try sink?.write(contentsOf: chunk)
        }
        return BackupManifest.File(name: name, size: size, hash: hex(hash.finish()))
    }

    static func u32(_ value: Int) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: UInt32(value) >> (8 * $0)) }
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}

/// Reads an archive, every length and name checked before it is used: a backup file is as
/// hostile as anything else that arrives from outside.
struct BackupArchiveReader {
    let input: FileHandle
    let path: String

    init(path: String) throws {
        guard let input = FileHandle(forReadingAtPath: path) else { throw NodeSetupError("cannot read \(path)") }
        self.input = input
        self.path = path
    }

    func close() { try? input.close() }

    /// The envelope (empty for a node in the clear) and the manifest's bytes (sealed when there is an envelope).
    func readHeader() throws -> (envelope: [UInt8], manifest: [UInt8]) {
        guard try read(4) == BackupArchive.magic else { throw NodeSetupError("\(path) is not a Suifang backup") }
        guard try read(1) == [BackupArchive.format] else { throw NodeSetupError("\(path) is a backup in a format this release does not read") }
        let envelope = try read(try length(limit: BackupArchive.maximumEnvelopeBytes, of: "data-key envelope"))
        let manifest = try read(try length(limit: BackupArchive.maximumManifestBytes, of: "manifest"))
        return (envelope, manifest)
    }

    /// Streams one file's bytes into `target` (created owner-only) and checks its size and hash.
    func extract(_ file: BackupManifest.File, to target: URL) throws {
        guard FileManager.default.createFile(atPath: target.path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let output = FileHandle(forWritingAtPath: target.path)
        else { throw NodeSetupError("cannot write \(target.path)") }
        defer { try? output.close() }
        let hash = Blake2b256()
        var left = file.size
        while left > 0 {
            let chunk = try input.read(upToCount: Int(min(left, 1 << 20))) ?? Data()
            guard !chunk.isEmpty else { throw NodeSetupError("\(path) ends inside \(file.name): the backup is cut short") }
            hash.update(chunk)
            try output.write(contentsOf: chunk)
            left -= UInt64(chunk.count)
        }
        try output.synchronize()
        guard BackupArchiveWriter.hex(hash.finish()) == file.hash else {
            throw NodeSetupError("\(file.name) in \(path) does not match its recorded hash: the backup was altered or damaged")
        }
    }

    /// Whether the archive ends where the manifest's last file ends.
    func isAtEnd() throws -> Bool { try input.read(upToCount: 1)?.isEmpty ?? true }

    private func read(_ count: Int) throws -> [UInt8] {
        guard count > 0 else { return [] }
        let data = try input.read(upToCount: count) ?? Data()
        guard data.count == count else { throw NodeSetupError("\(path) is cut short: not a whole Suifang backup") }
        return Array(data)
    }

    private func length(limit: Int, of part: String) throws -> Int {
        let bytes = try read(4)
        let value = bytes.enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard value <= limit else { throw NodeSetupError("\(path) claims a \(part) of \(value) bytes (at most \(limit)): not a Suifang backup") }
        return value
    }
}
