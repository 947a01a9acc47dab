import Foundation
import Replica

/// The repository's own files, found from this source file.
public enum RepositoryFiles {
    /// The repository's root directory.
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `conflict-policies/`.
    public static let policiesDirectory = root.appendingPathComponent("conflict-policies")

    /// The policies the product ships, loaded once.
    public static let policies: PolicySet = try! PolicySet.load(directory: policiesDirectory)
}

/// A fresh SQLite file path in the temporary directory; `remove()` deletes the file with its WAL and
/// shared-memory files.
public struct TemporaryDatabase: Sendable {
    public let path: String

    public init(_ name: String) {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID()).sqlite").path
    }

    public func remove() {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
}
