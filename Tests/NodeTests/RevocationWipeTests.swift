import Foundation
import TestSupport
import Testing

@testable import NodeRuntime
@testable import Testnets

/// `suifang revoke` on central, then the revoked ward's next contact: central orders it wiped, it
/// deletes its replica and keys, says so in its log, and stops. Real processes.
@Suite("Wipe on revocation")
struct RevocationWipeTests {
    @Test func aRevokedWardWipesItsReplicaAndKeysOnItsNextContactAndStops() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("wipe-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let central = root.appendingPathComponent("central").path, ward = root.appendingPathComponent("ward").path
        let token = root.appendingPathComponent("ward.token").path
        let syncPort = try await TestnetRunner.freePort()
        let policies = RepositoryFiles.policiesDirectory.path
        for arguments in [
            [
                "init", "--role", "central", "--name", "central", "--dir", central, "--listen", "127.0.0.1:\(syncPort)", "--policies", policies,
                "--unlock", "file:" + root.appendingPathComponent("central.key").path,
            ],
            ["enroll", "--dir", central, "--name", "ward-5a", "--role", "ward", "--ward", "W-CARD", "--out", token],
            [
                "init", "--token", token, "--dir", ward, "--listen", "127.0.0.1:0", "--policies", policies,
                "--unlock", "file:" + root.appendingPathComponent("ward.key").path,
            ],
        ] {
            let result = try SuifangBinary.run(arguments)
            #expect(result.status == 0, "\(arguments[0]): \(result.output)")
        }
        let centralProcess = try SuifangBinary.start(["serve", "--dir", central], log: root.appendingPathComponent("central.log").path)
        defer { if centralProcess.isRunning { centralProcess.terminate() } }
        let wardLog = root.appendingPathComponent("ward.log").path
        let wardProcess = try SuifangBinary.start(["serve", "--dir", ward], log: wardLog)
        defer { if wardProcess.isRunning { kill(wardProcess.processIdentifier, SIGKILL) } }
        #expect(try await waitFor(seconds: 30) { (try? String(contentsOfFile: wardLog, encoding: .utf8))?.contains("sync session started") == true })

        let revoke = try SuifangBinary.run(["revoke", "--dir", central, "ward-5a"])
        #expect(revoke.status == 0, "\(revoke.output)")
        #expect(try await waitFor(seconds: 60) { !wardProcess.isRunning }, "the revoked ward did not stop")
        let left = try FileManager.default.contentsOfDirectory(atPath: ward)
        for name in ["replica.sqlite", "replica.key", "node.key", "http.key"] {
            #expect(!left.contains(name), "\(name) survived the wipe: \(left)")
        }
        #expect(left.contains("WIPED"))
        let log = try String(contentsOfFile: wardLog, encoding: .utf8)
        #expect(log.contains("ordered it wiped"), "\(log)")
        #expect(centralProcess.isRunning, "central keeps serving")
        let again = try SuifangBinary.run(["serve", "--dir", ward])
        #expect(again.status != 0 && again.output.contains("were deleted"), "\(again.output)")
    }

    /// A one-shot `suifang sync` obeys the order too.
    @Test func aRevokedNodeSyncingOnceIsWipedToo() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("wipe-once-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let central = root.appendingPathComponent("central").path, ward = root.appendingPathComponent("ward").path
        let token = root.appendingPathComponent("ward.token").path
        let syncPort = try await TestnetRunner.freePort()
        let policies = RepositoryFiles.policiesDirectory.path
        for arguments in [
            ["init", "--role", "central", "--name", "central", "--dir", central, "--listen", "127.0.0.1:\(syncPort)", "--policies", policies, "--no-encryption"],
            ["enroll", "--dir", central, "--name", "ward-5a", "--role", "ward", "--ward", "W-CARD", "--out", token],
            ["init", "--token", token, "--dir", ward, "--listen", "127.0.0.1:0", "--policies", policies, "--unlock", "file:" + root.appendingPathComponent("ward.key").path],
        ] {
            let result = try SuifangBinary.run(arguments)
            #expect(result.status == 0, "\(arguments[0]): \(result.output)")
        }
        // Revoked by id: central has never seen it connect.
        let revoke = try SuifangBinary.run(["revoke", "--dir", central, try NodeDirectory(ward).configuration().nodeID])
        #expect(revoke.status == 0, "\(revoke.output)")
        let centralProcess = try SuifangBinary.start(["serve", "--dir", central], log: root.appendingPathComponent("central.log").path)
        defer { centralProcess.terminate() }
        var once = (status: Int32(0), output: "")
        for _ in 0..<50 {
            once = try SuifangBinary.run(["sync", "--dir", ward, "--peer", "127.0.0.1:\(syncPort)"])
            if once.output.contains("ordered it wiped") { break }
            try await Task.sleep(for: .milliseconds(200))  // central still starting
        }
        #expect(once.status != 0 && once.output.contains("ordered it wiped"), "\(once.output)")
        let left = try FileManager.default.contentsOfDirectory(atPath: ward)
        #expect(!left.contains("replica.sqlite") && !left.contains("replica.key") && !left.contains("node.key") && left.contains("WIPED"), "\(left)")
    }

    func waitFor(seconds: Double, _ condition: () throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return try condition()
    }
}
