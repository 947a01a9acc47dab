import ArgumentParser
import Foundation
import GRDB
import Replica
import SyncProtocol
import TestSupport
import Testing

@testable import Benchmarks
@testable import NodeHTTP
@testable import NodeRuntime
@testable import Testnets

/// The attacks of a stolen ward gateway, driven as its thief would: the real binary on the ward's own
/// data directory, its `node.json` edited, and commits made with its real key by modified code.
@Suite("A stolen ward gateway", .serialized)
struct NodeTrustTests {
    struct Cluster {
        let directory: URL
        var central: String { directory.appendingPathComponent("central").path }
        var ward: String { directory.appendingPathComponent("ward").path }

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("trust-tests-\(UUID())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let token = directory.appendingPathComponent("ward.token").path
            try NodeDirectory(central).createCentral(name: "central", NodeSetup(listen: "127.0.0.1:0", policies: PolicyDirectory(NodeNetworkTests.policies)))
            try NodeDirectory(central).enrol(name: "ward-5a", role: .ward, wards: ["W-5A"], centralAddress: nil, validDays: 365).token.write(to: token)
            try NodeDirectory(ward).join(with: EnrolmentToken.read(from: token).grant, NodeSetup(listen: "127.0.0.1:0", policies: PolicyDirectory(NodeNetworkTests.policies)))
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    func run(_ arguments: [String], input: String = "") throws -> (status: Int32, output: String) {
        try SuifangBinary.run(arguments, input: input)
    }

    func rows(_ directory: String, _ table: String) throws -> Int {
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: NodeDirectory(directory).replicaPath, configuration: configuration).read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
        }
    }

    @Test func aWardNodeIsEnrolledForNamedWardsAndSaysWhichOnes() throws {
        let cluster = try Cluster()
        defer { cluster.remove() }
        let token = cluster.directory.appendingPathComponent("bare.token").path
        let refused = try run(["enroll", "--dir", cluster.central, "--name", "ward-x", "--role", "ward", "--out", token])
        #expect(refused.status != 0 && refused.output.contains("--ward"), "\(refused.output)")
        let status = try run(["status", "--dir", cluster.ward])
        #expect(status.status == 0 && status.output.contains("for wards W-5A"), "\(status.output)")
    }

    @Test func userAddOnAWardSaysAdministrationHappensOnCentral() throws {
        let cluster = try Cluster()
        defer { cluster.remove() }
        let result = try run(["user", "add", "evil", "--role", "admin", "--password-stdin", "--dir", cluster.ward], input: "secret-password\n")
        #expect(result.status != 0)
        #expect(result.output.contains("central"), "\(result.output)")
        #expect(try rows(cluster.ward, "appUser") == 0)
    }

    @Test func aWardWhoseNodeJsonSaysCentralStillCannotRevoke() throws {
        let cluster = try Cluster()
        defer { cluster.remove() }
        let file = URL(fileURLWithPath: cluster.ward).appendingPathComponent("node.json")
        let edited = try String(contentsOf: file, encoding: .utf8).replacingOccurrences(of: "\"ward\"", with: "\"central\"")
        try edited.write(to: file, atomically: true, encoding: .utf8)
        let result = try run(["revoke", "0000000000000001", "--dir", cluster.ward])
        #expect(result.status != 0, "\(result.output)")
        #expect(try rows(cluster.ward, "revokedNode") == 0)
    }

    @Test func anAdministratorMintedByModifiedWardCodeNeverReachesCentral() async throws {
        let cluster = try Cluster()
        defer { cluster.remove() }
        // Modified code on the ward signs a commit writing an admin account with the ward's real key.
        let identity = try NodeDirectory(cluster.ward).identity()
        let policies = try NodeDirectory(cluster.ward).policies()
        let columns = try #require(policies.table(named: "appUser")).columns
        let values: [String: DatabaseValue] = ["role": "admin".databaseValue, "passwordHash": "$argon2id$forged".databaseValue, "displayName": "evil".databaseValue]
        var chain = ChainWriter(authority: CertificateTrust(identity: identity), policies: policies)
        try chain.commit(inserting: [("appUser", "evil", columns.map { values[$0.name] ?? .null })], at: HLC(milliseconds: SystemWallClock().now(), counter: 0))
        let (_, _, central) = try NodeRuntime.open(directory: cluster.central, logger: quietLogger)
        let report = try await central.replica.apply(ChangeBatch(segments: [chain.segment()]))
        #expect(report.quarantined.map(\.origin) == [identity.nodeID])
        #expect(try rows(cluster.central, "appUser") == 0)
        let status = try run(["status", "--dir", cluster.central, "--json"])
        #expect(status.output.contains("quarantine"), "\(status.output)")
    }
}
