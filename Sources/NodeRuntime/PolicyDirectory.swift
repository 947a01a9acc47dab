import Foundation
import Replica

/// The directory of `.policy` files a command works with (`--policies`, `$SUIFANG_POLICIES` or
/// `./conflict-policies`).
package struct PolicyDirectory: Sendable {
    /// The directory's path.
    package var resolvedPath: String

    package init(_ path: String) {
        resolvedPath = path
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
