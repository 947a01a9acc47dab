import Foundation
import GRDB
import Replica
import Sodium
import TestSupport
import Testing

@testable import SyncProtocol

/// Nodes of two releases during a rolling upgrade: the newer declares a column more. From protocol
/// 3 on they sync (the handshake compares the policy sets, not their hashes); under protocol 2, or
/// with sets that differ in more than additions, they refuse.
@Suite("Mixed releases over the sync protocol")
struct MixedReleaseSyncTests {
    static let newer = try! PolicySet(parsing: syncTestPolicies.canonicalText.replacingOccurrences(of: "column answers text", with: "column answers text\ncolumn channel text"))
    let cluster = TestCluster()

    @Test func compatibleSetsShakeHandsFromProtocol3AndNotBefore() async throws {
        let ward = try cluster.identity(2, "ward-5a"), central = try cluster.identity(1, "central", role: .central)
        let mixed = await handshake(client: cluster.admission(ward, policies: Self.newer), server: cluster.admission(central))
        #expect(try mixed.client.get().name == "central" && mixed.server.get().name == "ward-5a")
        #expect(mixed.versions == [3, 3])
        let older = await handshake(client: cluster.admission(ward, policies: Self.newer), server: cluster.admission(central), clientVersion: 2)
        guard case .failure(let error) = older.server else {
            Issue.record("protocol 2 admitted another policy set")
            return
        }
        #expect(error.code == .policyMismatch)
        let incompatible = try PolicySet(parsing: syncTestPolicies.canonicalText.replacingOccurrences(of: "table surveyResponse append-only", with: "table surveyResponse"))
        let refused = await handshake(client: cluster.admission(ward, policies: incompatible), server: cluster.admission(central))
        guard case .failure(let serverError) = refused.server, case .failure(let clientError) = refused.client else {
            Issue.record("an incompatible set was admitted")
            return
        }
        #expect(serverError.code == .policyMismatch && "\(serverError)".contains("surveyResponse"), "\(serverError)")
        #expect(clientError.code == .policyMismatch, "\(clientError)")
    }

    @Test func aNewerNodesColumnTravelsThroughAnOlderCentralToAnotherNewerNode() async throws {
        let centralIdentity = try cluster.identity(1, "central", role: .central)
        let firstIdentity = try cluster.identity(2, "callcenter-1", role: .callcenter), secondIdentity = try cluster.identity(3, "callcenter-2", role: .callcenter)
        let central = try makeSyncReplica(centralIdentity)
        let first = try makeSyncReplica(firstIdentity, policies: Self.newer), second = try makeSyncReplica(secondIdentity, policies: Self.newer)
        let id = try await first.write { try $0.insert(into: "surveyResponse", values: ["patientId": "P1", "answers": "{}", "channel": "phone"]) }
        _ = try await syncOverMemory(client: (first, cluster.admission(firstIdentity, policies: Self.newer)), server: (central, cluster.admission(centralIdentity)))
        #expect(try await central.reader.read { try String.fetchOne($0, sql: "SELECT answers FROM surveyResponse WHERE id = ?", arguments: [id]) } == "{}")
        _ = try await syncOverMemory(client: (second, cluster.admission(secondIdentity, policies: Self.newer)), server: (central, cluster.admission(centralIdentity)))
        #expect(try await second.reader.read { try String.fetchOne($0, sql: "SELECT channel FROM surveyResponse WHERE id = ?", arguments: [id]) } == "phone")
        #expect(try second.canonicalDump() == first.canonicalDump())
    }
}
