import Foundation
import Replica

/// `suifang policies install`: a node takes the policy set of the release it was upgraded to.
extension NodeDirectory {
    /// What an installation changed.
    package struct PolicyUpgrade: Sendable {
        package var previousHash: String
        package var newHash: String
        package var changes: [PolicyEvolution.Change]
    }

    /// Replaces the node's `policies/` with `source`'s set, while the node is stopped. Only a set
    /// that adds to the node's is taken (tables, nullable columns at the end: ``SharedSchema``),
    /// so the node goes on syncing with peers still on its old set, and merges what it read past
    /// of newer peers' commits when it next starts.
    /// - Throws: ``NodeSetupError`` when the node runs, or the set changes more than it adds.
    package func installPolicies(upgradingTo source: PolicyDirectory) throws -> PolicyUpgrade {
        let lock = try NodeLock(self, purpose: "installing other conflict policies")
        defer { withExtendedLifetime(lock) {} }
        let current = try policies(), next = try source.load()
        let evolution = PolicyEvolution(from: current, to: next)
        guard evolution.isCompatible else {
            let refused = evolution.changes.filter { !$0.isAllowed }.map(\.description).joined(separator: "; ")
            throw NodeSetupError("the new policies break the schema evolution rules (docs/CONFLICT-POLICIES.md): \(refused)")
        }
        do {
            _ = try SharedSchema(current, next)
        } catch {
            throw NodeSetupError(
                "the new policies change more than they add (\(error)): nodes on the two sets cannot sync, so the whole fleet must take them at once (stop every node, install, start central first)"
            )
        }
        let report = PolicyUpgrade(previousHash: current.contentHash, newHash: next.contentHash, changes: evolution.changes)
        guard current.contentHash != next.contentHash else { return report }
        // The new files go in beside the old ones and take their place in one rename.
        let staged = url.appendingPathComponent("policies.new"), retired = url.appendingPathComponent("policies.old")
        try? FileManager.default.removeItem(at: staged)
        try? FileManager.default.removeItem(at: retired)
        try FileManager.default.createDirectory(at: staged, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for name in try FileManager.default.contentsOfDirectory(atPath: source.resolvedPath).sorted() where name.hasSuffix(".policy") {
            let data = try Data(contentsOf: URL(fileURLWithPath: source.resolvedPath).appendingPathComponent(name))
            guard FileManager.default.createFile(atPath: staged.appendingPathComponent(name).path, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw NodeSetupError("cannot write \(staged.path)/\(name)")
            }
        }
        guard try PolicySet.load(directory: staged).contentHash == next.contentHash else {
            throw NodeSetupError("the policy files changed while they were being installed: run it again")
        }
        try FileManager.default.moveItem(at: policiesDirectory, to: retired)
        try FileManager.default.moveItem(at: staged, to: policiesDirectory)
        try FileManager.default.removeItem(at: retired)
        return report
    }
}
