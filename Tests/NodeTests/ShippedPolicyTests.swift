import Foundation
import Replica
import TestSupport
import Testing

@testable import NodeRuntime

/// The binary carries its policy set, so an installed `suifang` creates a node anywhere.
@Suite("Policies shipped in the binary")
struct ShippedPolicyTests {
    @Test func theShippedSetIsTheRepositorysSetFileByFile() throws {
        let directory = RepositoryFiles.root.appendingPathComponent("conflict-policies")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".policy") }.sorted()
        #expect(ShippedPolicies.files.map(\.name) == names, "run scripts/embed-policies.py after changing conflict-policies/")
        for file in ShippedPolicies.files {
            let text = try String(contentsOf: directory.appendingPathComponent(file.name), encoding: .utf8)
            #expect(file.text == text, "\(file.name) differs: run scripts/embed-policies.py")
        }
        #expect(try PolicyDirectory.shipped().load().contentHash == PolicyDirectory(directory.path).load().contentHash)
    }

    @Test func anInstalledBinaryCreatesANodeOutsideTheRepository() throws {
        let elsewhere = FileManager.default.temporaryDirectory.appendingPathComponent("installed-\(UUID())")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        func run(_ arguments: [String]) throws -> (Int32, String) {
            let process = Process()
            process.executableURL = SuifangBinary.url
            process.arguments = arguments
            process.currentDirectoryURL = elsewhere
            var environment = ProcessInfo.processInfo.environment
            environment["SUIFANG_POLICIES"] = nil
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }
        let version = try run(["--version"])
        let hash = try PolicyDirectory.shipped().load().contentHash
        #expect(version.0 == 0 && version.1.contains("policy set: \(hash) (shipped in the binary)"), "\(version.1)")
        let created = try run(["init", "--dir", "node", "--role", "central", "--name", "central", "--no-encryption", "--listen", "127.0.0.1:7998"])
        #expect(created.0 == 0, "\(created.1)")
        #expect(FileManager.default.fileExists(atPath: elsewhere.appendingPathComponent("node/policies/patients.policy").path))
    }
}
