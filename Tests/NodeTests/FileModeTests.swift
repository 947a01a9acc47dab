import Foundation
import TestSupport
import Testing

@testable import NodeRuntime

@Suite("Files on disk: owner-only from the moment they exist")
struct FileModeTests {
    /// The node directory is 0700 and every file in it 0600 (keys, the enrolment token, the
    /// replica with its WAL and shared memory, policies), as the binary creates them; a directory
    /// made looser before is tightened when a node opens it.
    @Test func aNodesDirectoryAndEveryFileInItAreOwnerOnly() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("modes-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let central = root.appendingPathComponent("central").path, token = root.appendingPathComponent("ward.token").path
        var result = try SuifangBinary.run([
            "init", "--role", "central", "--name", "central", "--dir", central, "--listen", "127.0.0.1:0", "--policies", RepositoryFiles.policiesDirectory.path, "--no-encryption",
        ])
        #expect(result.status == 0, "\(result.output)")
        result = try SuifangBinary.run(["enroll", "--dir", central, "--name", "ward-1", "--role", "ward", "--ward", "W-1", "--out", token])
        #expect(result.status == 0, "\(result.output)")
        result = try SuifangBinary.run(["user", "add", "--dir", central, "admin", "--role", "admin", "--password-stdin"], input: "password-admin\n")
        #expect(result.status == 0, "\(result.output)")
        func modes(_ path: String) throws -> [String: Int] {
            var found = [path: try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1]
            for name in try FileManager.default.subpathsOfDirectory(atPath: path) {
                let full = path + "/" + name
                found[full] = try FileManager.default.attributesOfItem(atPath: full)[.posixPermissions] as? Int ?? -1
            }
            return found
        }
        let all = try modes(central)
        #expect(all.keys.contains { $0.hasSuffix("replica.sqlite") } && all.keys.contains { $0.hasSuffix("node.key") })
        for (path, mode) in all {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            #expect(mode == (isDirectory.boolValue ? 0o700 : 0o600), "\(path) has mode \(String(mode, radix: 8))")
        }
        #expect(try FileManager.default.attributesOfItem(atPath: token)[.posixPermissions] as? Int == 0o600)

        // A directory loosened by hand is tightened when a node opens it.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: central)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: central + "/replica.sqlite")
        _ = try NodeRuntime.open(directory: central, logger: quietLogger)
        #expect(try modes(central)[central] == 0o700 && modes(central)[central + "/replica.sqlite"] == 0o600)
    }
}
