import Foundation
import Replica
import Sodium

/// The directory of `.policy` files a command works with (`--policies`, `$SUIFANG_POLICIES` or
/// `./conflict-policies`).
package struct PolicyDirectory: Sendable {
    /// The directory's path.
    package var resolvedPath: String

    package init(_ path: String) {
        resolvedPath = path
    }

    /// The policy set shipped inside the binary (``ShippedPolicies``), written out once to a
    /// private temporary directory named by its content, so an installed `suifang` creates nodes
    /// anywhere without the repository's `conflict-policies/`.
    package static func shipped() throws -> PolicyDirectory {
        let digest = Sodium.hexHash(ShippedPolicies.files.map { $0.name + "\n" + $0.text }.joined(separator: "\n")).prefix(16)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("suifang-policies-\(digest)-\(getuid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for file in ShippedPolicies.files {
            let target = directory.appendingPathComponent(file.name)
            if (try? String(contentsOf: target, encoding: .utf8)) != file.text {
                try Data(file.text.utf8).write(to: target, options: .atomic)
            }
        }
        return PolicyDirectory(directory.path)
    }

    /// Loads and checks the policy set.
    /// - Throws: ``NodeSetupError`` naming the file, line and problem.
    package func load() throws -> PolicySet {
        do {
            return try PolicySet.load(directory: URL(fileURLWithPath: resolvedPath))
        } catch {
            throw NodeSetupError(error.description)
        }
    }
}
