import Foundation

/// What a node does when central, answering its hello, orders it wiped (it was revoked; see
/// `WipeOrder` in SyncProtocol): it deletes its replica and every key, leaves a `WIPED` notice
/// saying when and why, and stops. The sealed data key goes first: without it, whatever of the
/// encrypted pages the disk still holds is noise (crypto-erasure), even where deleting a file
/// leaves its blocks behind.
extension NodeDirectory {
    static let wipedNotice = "WIPED"
    /// Files a wipe deletes, the data key's envelope first.
    static let wipedFiles = [
        NodeVault.envelopeFile, "node.key", "cluster.key", "ca.key", "http.key",
        "replica.sqlite", "replica.sqlite-wal", "replica.sqlite-shm", "replica.sqlite.rekey", "sms-outbox.jsonl",
    ]

    /// Deletes the replica and keys and writes the notice.
    /// - Returns: the files deleted.
    @discardableResult
    package func wipe(reason: String) throws -> [String] {
        var deleted: [String] = []
        for name in Self.wipedFiles where FileManager.default.fileExists(atPath: file(name).path) {
            let path = file(name).path
            if let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int), size <= 1 << 16,
                let handle = FileHandle(forWritingAtPath: path)
            {
                // Small secrets are overwritten in place first (best effort on flash storage).
                try? handle.write(contentsOf: Data(count: size))
                try? handle.synchronize()
                try? handle.close()
            }
            try FileManager.default.removeItem(atPath: path)
            deleted.append(name)
        }
        let stamp = ISO8601DateFormatter().string(from: Date())
        try write(Array("wiped \(stamp): \(reason)\n".utf8), to: Self.wipedNotice)
        return deleted
    }

    /// The notice a wipe left, if this node was wiped.
    package var wipeNotice: String? {
        (try? read(Self.wipedNotice)).map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
    }
}
