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
        #expect(lines.contains("sync protocol: \(Handshake.supportedVersions.upperBound)"))
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
