import ArgumentParser
import CRMDomain
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import NIOFoundationCompat
import Replica
import SyncProtocol
import Synchronization
import TestSupport
import Testing

@testable import Benchmarks
@testable import NodeHTTP
@testable import NodeRuntime
@testable import Testnets

/// Two nodes over real loopback TCP, through the testnet proxy (which also records every byte).
@Suite("Nodes over loopback", .serialized)
struct NodeNetworkTests {
    static let policies = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("conflict-policies").path

    struct Pair {
        let directory: URL
        let central: NodeRuntime
        let ward: NodeRuntime
        let proxy: FaultProxy
        let tasks: [Task<Void, any Error>]

        func stop() {
            for task in tasks { task.cancel() }
            proxy.stop()
            try? FileManager.default.removeItem(at: directory)
        }
    }

    /// Central and a ward node, in process, the ward syncing through a capturing proxy; `encrypted`
    /// gives each an unlock key file beside (not in) its directory.
    func startPair(encrypted: Bool = false) async throws -> Pair {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("node-tests-\(UUID())")
        let centralPort = try await TestnetRunner.freePort()
        let central = directory.appendingPathComponent("central").path, ward = directory.appendingPathComponent("ward").path
        let token = directory.appendingPathComponent("ward.token").path
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        func unlock(_ name: String) -> UnlockSource? { encrypted ? .keyFile(directory.appendingPathComponent("\(name).key").path) : nil }
        try NodeDirectory(central).createCentral(
            name: "central", NodeSetup(listen: "127.0.0.1:\(centralPort)", policies: PolicyDirectory(Self.policies), unlock: unlock("central")))
        try NodeDirectory(central).enrol(name: "ward-5a", role: .ward, wards: ["W-CARD"], centralAddress: nil, validDays: 365).token.write(to: token)
        try NodeDirectory(ward).join(
            with: EnrolmentToken.read(from: token).grant, NodeSetup(listen: "127.0.0.1:0", policies: PolicyDirectory(Self.policies), unlock: unlock("ward")))
        let (_, _, centralRuntime) = try NodeRuntime.open(directory: central, logger: quietLogger)
        let (_, _, wardRuntime) = try NodeRuntime.open(directory: ward, logger: quietLogger)
        let proxy = FaultProxy(name: "ward→central", targetPort: centralPort)
        proxy.capturing = true
        let proxyPort = try await proxy.start()
        let listener = Task { try await SyncListener(runtime: centralRuntime, endpoint: try Endpoint("127.0.0.1:\(centralPort)"), onListening: { _ in }).run() }
        let connector = Task { try await PeerConnector(runtime: wardRuntime, endpoint: try Endpoint("127.0.0.1:\(proxyPort)")).run() }
        return Pair(directory: directory, central: centralRuntime, ward: wardRuntime, proxy: proxy, tasks: [listener, connector])
    }

    /// Polls `condition` for up to a minute of wall-clock time (reconnection back-off and a loaded
    /// machine's stalls both fit).
    func eventually(_ condition: () throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(60)
        repeat {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        } while Date() < deadline
        return try condition()
    }

    @Test func aLiveCommitReachesCentralAndNoPatientDataCrossesTheWireInClear() async throws {
        let pair = try await startPair()
        defer { pair.stop() }
        let name = "王小明", phone = "13912345678"
        let id = try await pair.ward.replica.write { tx in
            try tx.insert(into: "patient", values: ["name": name, "phone": phone, "idNumber": "350102199001011234"])
        }
        #expect(
            try await eventually {
                try pair.central.replica.reader.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM patient WHERE id = ?)", arguments: [id]) ?? false }
            })
        let wire = pair.proxy.captured.withLock { $0 }
        #expect(wire.count > 500)
        for secret in [name, phone, "350102199001011234"] {
            let needle = Array(secret.utf8)
            let found = wire.count >= needle.count && (0...(wire.count - needle.count)).contains { Array(wire[$0..<$0 + needle.count]) == needle }
            #expect(!found, "patient data crossed the wire in clear")
        }
    }

    @Test func aRevokedNodeIsCutOffAndRefusedFromThenOn() async throws {
        let pair = try await startPair()
        defer { pair.stop() }
        let first = try await pair.ward.replica.write {
            try $0.insert(
                into: "surveyResponse",
                values: ["patientId": "P1", "answers": "{}", "wardId": "W-CARD", "templateId": "t", "mode": "bedside", "submittedAt": "2026-11-23T09:00:00+08:00"])
        }
        #expect(try await eventually { try pair.central.replica.statistics().rows["surveyResponse"] == 1 })
        _ = first
        try await pair.central.replica.write { tx in
            try tx.insert(into: "revokedNode", values: ["name": "ward-5a", "revokedBy": "central"], id: pair.ward.identity.nodeID.description)
        }
        // The live session ends and every reconnect is refused.
        #expect(
            try await eventually {
                try pair.ward.peers.peers().contains { !$0.connected && ($0.lastError ?? "").contains("revoked") }
            })
        try await pair.ward.replica.write {
            try $0.insert(
                into: "surveyResponse",
                values: ["patientId": "P2", "answers": "{}", "wardId": "W-CARD", "templateId": "t", "mode": "bedside", "submittedAt": "2026-11-23T09:00:00+08:00"])
        }
        try await Task.sleep(for: .seconds(1.5))
        #expect(try pair.central.replica.statistics().rows["surveyResponse"] == 1)
    }

    @Test func aRevocationFromTheCommandLineCutsTheLiveSessionOfTheRunningDaemon() async throws {
        let pair = try await startPair()
        defer { pair.stop() }
        let watcher = Task { try await ReplicaChore.otherProcessWatch(pair.central.replica, every: .milliseconds(200), logger: quietLogger).run() }
        defer { watcher.cancel() }
        _ = try await pair.ward.replica.write {
            try $0.insert(
                into: "surveyResponse",
                values: ["patientId": "P1", "answers": "{}", "wardId": "W-CARD", "templateId": "t", "mode": "bedside", "submittedAt": "2026-11-23T09:00:00+08:00"])
        }
        #expect(try await eventually { try pair.central.replica.statistics().rows["surveyResponse"] == 1 })
        // `suifang revoke` is its own process with its own connection to central's replica; the
        // daemon commits nothing itself, yet notices the revocation and ends the ward's session.
        let revoke = try SuifangBinary.run(["revoke", "--dir", pair.directory.appendingPathComponent("central").path, "ward-5a"])
        #expect(revoke.status == 0, "\(revoke.output)")
        #expect(
            try await eventually {
                try pair.ward.peers.peers().contains { !$0.connected && ($0.lastError ?? "").contains("revoked") }
            })
        // The revocation keeps what central held of the ward (its one commit) for every node.
        let accepted = try await pair.central.replica.reader.read { db in
            try Int64.fetchOne(db, sql: "SELECT acceptedUpTo FROM revokedNode WHERE id = ?", arguments: [pair.ward.identity.nodeID.description])
        }
        #expect(accepted == Int64(try pair.central.replica.versionVector()[pair.ward.identity.nodeID]))
        #expect(accepted == 1)
    }
}

@Suite("HTTP API")
struct NodeHTTPTests {
    @Test func statusReportsTheNodeAndBadPathsAre404() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("http-tests-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let central = directory.appendingPathComponent("central").path
        try NodeDirectory(central).createCentral(name: "central", NodeSetup(listen: "127.0.0.1:7400", policies: PolicyDirectory(NodeNetworkTests.policies)))
        let (nodeDirectory, configuration, runtime) = try NodeRuntime.open(directory: central, logger: quietLogger)
        _ = nodeDirectory
        try await runtime.replica.write {
            try $0.insert(
                into: "surveyResponse",
                values: ["patientId": "P1", "answers": "{}", "wardId": "W-CARD", "templateId": "t", "mode": "bedside", "submittedAt": "2026-11-23T09:00:00+08:00"])
        }
        let app = Application(router: buildRouter(runtime: runtime, configuration: configuration))
        try await runtime.crm.accounts.saveUser(.system, username: "it", displayName: "IT", role: .admin, password: "password-of-it", wardId: nil)
        try await app.test(.router) { client in
            // Peers, addresses and row counts need a login; health and the link indicator do not.
            #expect(try await APIClient(client: client).call(.get, "/api/status").status == .unauthorized)
            let admin = try await APIClient(client: client).logIn("it", "password-of-it")
            let answer = try await admin.call(.get, "/api/status")
            #expect(answer.status == .ok)
            let report = try answer.decode(NodeStatusReport.self)
            #expect(report.name == "central")
            #expect(report.certificateExpiresAt == Int64(runtime.certificateExpiresAt) && report.certificateExpiresAt > Int64(Date().timeIntervalSince1970 * 1000))
            #expect(report.rows["surveyResponse"] == 1)
            #expect(report.versionVector[configuration.nodeID] ?? 0 >= 1)
            #expect(try await APIClient(client: client).call(.get, "/api/status/link").status == .ok)
            try await client.execute(uri: "/api/health", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/api/nope", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}
