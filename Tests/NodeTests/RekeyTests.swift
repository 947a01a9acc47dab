import CRMDomain
import Foundation
import GRDB
import Replica
import Sodium
import TestSupport
import Testing

@testable import NodeRuntime

/// `suifang rekey`: a stopped node re-encrypted under a new data key keeps every change; a
/// running node is left alone; a rekey cut short is finished or undone at the next unlock.
@Suite("Data key rotation")
struct RekeyTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("rekey-\(UUID())")
    var central: String { root.appendingPathComponent("central").path }
    var keyFile: String { root.appendingPathComponent("central.key").path }

    /// An encrypted central with `patients` patients; returns its version vector and patient names.
    func makeCentral(patients: Int) async throws -> (VersionVector, [String]) {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try NodeDirectory(central).createCentral(
            name: "central", NodeSetup(listen: "127.0.0.1:0", policies: PolicyDirectory(NodeNetworkTests.policies), unlock: .keyFile(keyFile)))
        return try await contents(writing: patients)
    }

    func contents(writing patients: Int = 0) async throws -> (VersionVector, [String]) {
        let (_, _, runtime) = try NodeRuntime.open(directory: central, logger: quietLogger, passwordStrength: .minimum)
        for index in 0..<patients {
            _ = try await runtime.crm.patients.create(.system, PatientInput(name: "轮换密钥患者\(index)", idNumber: nil, phone: "1390000\(String(format: "%04d", index))"))
        }
        let names = try await runtime.replica.reader.read { db in try String.fetchAll(db, sql: "SELECT name FROM patient ORDER BY name") }
        return (try runtime.replica.versionVector(), names)
    }

    @Test func aRekeyedNodeKeepsEveryChangeAndOnlyTheNewSecretOpensIt() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let before = try await makeCentral(patients: 400)
        let oldEnvelope = try Data(contentsOf: URL(fileURLWithPath: central + "/replica.key"))
        let newKey = root.appendingPathComponent("new.key").path
        let report = try NodeDirectory(central).rekey(newUnlock: .keyFile(newKey))
        #expect(report.pages > 10 && report.secrets == ["node.key", "cluster.key"])
        let after = try await contents()
        #expect(after.0 == before.0 && after.1 == before.1 && after.1.count == 400)
        #expect(try NodeDirectory(central).configuration().unlock == "file:\(newKey)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: central + "/replica.key")) != oldEnvelope)
        #expect(throws: NodeSetupError.self) { try NodeDirectory(central, unlock: .keyFile(keyFile)).identity() }
        // The old data key, kept by a thief with the old envelope and key file, opens none of the new pages.
        try oldEnvelope.write(to: URL(fileURLWithPath: central + "/replica.key"))
        #expect(throws: (any Error).self) {
            try NodeRuntime.open(directory: NodeDirectory(central, unlock: .keyFile(keyFile)), logger: quietLogger)
        }
    }

    @Test func aRunningNodeIsNotRekeyed() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        _ = try await makeCentral(patients: 3)
        let serving = try NodeLock(NodeDirectory(central), purpose: "serving it")
        #expect {
            _ = try NodeDirectory(central).rekey(newUnlock: nil)
        } throws: { error in
            "\(error)".contains("stop it before rekey")
        }
        withExtendedLifetime(serving) {}
        #expect(!FileManager.default.fileExists(atPath: central + "/replica.sqlite.rekey"))
    }

    @Test func aRekeyCutShortBeforeItsCommitPointIsUndone() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let before = try await makeCentral(patients: 50)
        for name in ["replica.sqlite.rekey", "replica.key.rekey", "node.key.rekey"] {
            try Data(repeating: 7, count: 4096).write(to: URL(fileURLWithPath: central + "/" + name))
        }
        let after = try await contents()
        #expect(after.0 == before.0 && after.1 == before.1)
        let left = try FileManager.default.contentsOfDirectory(atPath: central).filter { $0.hasSuffix(".rekey") }
        #expect(left.isEmpty, "\(left)")
    }

    @Test func aRekeyCutShortAfterItsCommitPointIsFinished() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let before = try await makeCentral(patients: 50)
        // The state a crash right after the database's rename leaves: the new pages in place, the
        // new secrets and envelope still waiting beside the old ones.
        let copy = root.appendingPathComponent("copy").path
        try FileManager.default.copyItem(atPath: central, toPath: copy)
        _ = try NodeDirectory(copy).rekey(newUnlock: nil)
        try FileManager.default.removeItem(atPath: central + "/replica.sqlite")
        try FileManager.default.copyItem(atPath: copy + "/replica.sqlite", toPath: central + "/replica.sqlite")
        for name in ["node.key", "cluster.key", "replica.key"] {
            try FileManager.default.copyItem(atPath: copy + "/" + name, toPath: central + "/" + name + ".rekey")
        }
        let after = try await contents()
        #expect(after.0 == before.0 && after.1 == before.1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: central + "/replica.key")) == Data(contentsOf: URL(fileURLWithPath: copy + "/replica.key")))
    }
}
