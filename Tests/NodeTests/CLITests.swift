import Foundation
import Replica
import SyncProtocol
import TestSupport
import Testing

@testable import NodeRuntime

/// The binary as an operator meets it: `--version`, and exit codes that tell a mistyped command
/// (64, with the usage) from one that could not do its work (1, the message alone).
@Suite("The command line: version and exit codes")
struct CLITests {
    @Test func versionNamesTheReleaseTheProtocolAndThePolicySet() throws {
        let result = try SuifangBinary.run(["--version"])
        let policies = try PolicyDirectory(RepositoryFiles.root.appendingPathComponent("conflict-policies").path).load()
        #expect(result.status == 0)
        let lines = result.output.split(separator: "\n").map(String.init)
        #expect(lines.first == "suifang \(NodeRelease.version)")
        #expect(lines.contains("sync protocol: \(Handshake.supportedVersions.lowerBound)–\(Handshake.supportedVersions.upperBound)"), "\(result.output)")
        #expect(lines.contains { $0.hasPrefix("policy set: \(policies.contentHash)") }, "\(result.output)")
    }

    @Test func runtimeFailuresExitOneWithTheirMessageAndUsageErrorsExitSixtyFourWithTheUsage() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-node-\(UUID())").path
        let failed = try SuifangBinary.run(["status", "--dir", missing])
        #expect(failed.status == 1)
        #expect(failed.output.contains("holds no node (no node.json)") && !failed.output.contains("Usage"), "\(failed.output)")
        #expect(!failed.output.contains("NSCocoaErrorDomain"), "a plain message, not a Foundation error's dump")
        let misused = try SuifangBinary.run(["init"])
        #expect(misused.status == 64 && misused.output.contains("Usage"), "\(misused.output)")
        let unknown = try SuifangBinary.run(["token", "create", "--dir", missing, "--name", "x", "--scope", "nonsense"])
        #expect(unknown.status == 64, "an unknown scope is a usage error: \(unknown.output)")
    }
}

/// `suifang policies check --against OLD_DIR`: a release's policies against the previous release's.
@Suite("The command line: policy evolution")
struct PolicyCheckCLITests {
    @Test func anIncompatibleChangeExitsOneAndAnAdditionPasses() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("policy-check-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        let old = RepositoryFiles.policiesDirectory
        let new = root.appendingPathComponent("new")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: old, to: new)
        let file = new.appendingPathComponent("complaints.policy")
        var text = try String(contentsOf: file, encoding: .utf8)
        text += "\ntable kioskVisit\n  column departmentId text\n"
        try text.write(to: file, atomically: true, encoding: .utf8)
        let added = try SuifangBinary.run(["policies", "check", "--policies", new.path, "--against", old.path])
        #expect(added.status == 0 && added.output.contains("kioskVisit: table added"), "\(added.output)")
        text = text.replacingOccurrences(of: "lifecycle registered accepted investigating handled closed", with: "lifecycle registered investigating accepted handled closed")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let reordered = try SuifangBinary.run(["policies", "check", "--policies", new.path, "--against", old.path, "--json"])
        #expect(reordered.status == 1, "\(reordered.output)")
        #expect(reordered.output.contains("\"compatible\":false") && reordered.output.contains("break the schema evolution rules"), "\(reordered.output)")
    }

    @Test func anUpgradedNodeTakesAnAddingSetOnlyWhileStopped() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("policy-install-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        let old = RepositoryFiles.policiesDirectory, next = root.appendingPathComponent("next"), node = root.appendingPathComponent("central").path
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: old, to: next)
        let made = try SuifangBinary.run(["init", "--role", "central", "--name", "central", "--dir", node, "--listen", "127.0.0.1:0", "--policies", old.path, "--no-encryption"])
        #expect(made.status == 0, "\(made.output)")
        try "table kioskVisit\n  column departmentId text\n".write(to: next.appendingPathComponent("kiosk.policy"), atomically: true, encoding: .utf8)
        // While the node runs (it holds its lock), nothing is installed.
        do {
            let lock = try NodeLock(NodeDirectory(node), purpose: "a test")
            let refused = try SuifangBinary.run(["policies", "install", "--dir", node, "--policies", next.path])
            #expect(refused.status == 1 && refused.output.contains("stop it before"), "\(refused.output)")
            withExtendedLifetime(lock) {}
        }
        let installed = try SuifangBinary.run(["policies", "install", "--dir", node, "--policies", next.path])
        #expect(installed.status == 0 && installed.output.contains("kioskVisit: table added"), "\(installed.output)")
        #expect(try NodeDirectory(node).policies().table(named: "kioskVisit") != nil)
        // A set that changes more than it adds is refused, and the node keeps its own.
        let file = next.appendingPathComponent("complaints.policy")
        let text = try String(contentsOf: file, encoding: .utf8)
        try text.replacingOccurrences(of: "lifecycle registered accepted investigating handled closed", with: "lifecycle registered accepted investigating handled closed archived")
            .write(to: file, atomically: true, encoding: .utf8)
        let lifecycle = try SuifangBinary.run(["policies", "install", "--dir", node, "--policies", next.path])
        #expect(lifecycle.status == 1 && lifecycle.output.contains("whole fleet"), "\(lifecycle.output)")
        #expect(try NodeDirectory(node).policies().table(named: "kioskVisit") != nil)
    }
}
