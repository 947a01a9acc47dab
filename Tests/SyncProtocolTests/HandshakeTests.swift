import Foundation
import Replica
import Sodium
import TestSupport
import Testing

@testable import SyncProtocol

@Suite("Handshake: who may connect")
struct HandshakeTests {
    let cluster = TestCluster()

    @Test func twoNodesOfOneClusterAgree() async throws {
        let ward = try cluster.identity(2, "ward-5a"), central = try cluster.identity(1, "central", role: .central)
        let outcome = await handshake(client: cluster.admission(ward), server: cluster.admission(central))
        #expect(try outcome.client.get().name == "central")
        #expect(try outcome.server.get().name == "ward-5a")
    }

    enum Refusal: String, CaseIterable {
        case unknownNode, wrongCluster, expired, revoked, policyMismatch, unsupportedVersion
    }

    @Test(arguments: Refusal.allCases)
    func refusalsEndTheConnectionWithTheSameReasonOnBothSides(_ refusal: Refusal) async throws {
        let central = try cluster.identity(1, "central", role: .central)
        var ward = try cluster.identity(2, "ward-5a")
        var serverAdmission = cluster.admission(central)
        var clientAdmission = cluster.admission(ward)
        var version = Handshake.supportedVersions.upperBound
        let expected: SyncError.Code
        switch refusal {
        case .unknownNode:
            // A certificate that claims this cluster's key but was signed by another key.
            let forger = SigningKey(), nodeKey = SigningKey()
            var certificate = try NodeCertificate.issue(
                nodeID: NodeID(2), role: .ward, name: "ward-5a", publicKey: nodeKey.publicKey,
                by: forger, issuedAt: testNow - 1, validFor: 1_000_000)
            certificate.clusterKey = cluster.key.publicKey
            ward = try NodeIdentity(key: nodeKey, certificate: certificate, clusterKey: cluster.key.publicKey)
            clientAdmission = cluster.admission(ward)
            expected = .unknownNode
        case .wrongCluster:
            let otherHospital = TestCluster()
            ward = try otherHospital.identity(2, "ward-5a")
            clientAdmission = otherHospital.admission(ward)
            expected = .wrongCluster
        case .expired:
            ward = try cluster.identity(2, "ward-5a", issuedAt: testNow - 10_000, validFor: 5_000)
            clientAdmission = cluster.admission(ward)
            expected = .expired
        case .revoked:
            serverAdmission = cluster.admission(central, revoked: [NodeID(2)])
            expected = .revoked
        case .policyMismatch:
            // A column whose type changed: no release syncs across that.
            clientAdmission = cluster.admission(
                ward, policies: try PolicySet(parsing: syncTestPolicies.canonicalText.replacingOccurrences(of: "answers text", with: "answers integer")))
            expected = .policyMismatch
        case .unsupportedVersion:
            version = Handshake.supportedVersions.lowerBound - 1  // older than anything this node speaks
            expected = .unsupportedVersion
        }
        let outcome = await handshake(client: clientAdmission, server: serverAdmission, clientVersion: version)
        guard case .failure(let serverError) = outcome.server, case .failure(let clientError) = outcome.client else {
            Issue.record("the handshake completed: \(outcome)")
            return
        }
        #expect(serverError.code == expected, "\(serverError)")
        // Central answers a revoked node with a signed wipe order (see WipeOrderTests).
        #expect(clientError.code == (expected == .revoked ? .wipeOrdered : expected), "\(clientError)")
    }

    /// A later release offers a newer version than this one speaks: both settle on the newest they
    /// share, so nodes of two releases keep syncing while a fleet is upgraded one node at a time.
    @Test func aNewerClientAndThisServerSettleOnTheNewestVersionBothSpeak() async throws {
        let ward = try cluster.identity(2, "ward-5a"), central = try cluster.identity(1, "central", role: .central)
        let newest = Handshake.supportedVersions.upperBound
        let outcome = await handshake(client: cluster.admission(ward), server: cluster.admission(central), clientVersion: newest + 5)
        #expect(try outcome.client.get().name == "central")
        #expect(try outcome.server.get().name == "ward-5a")
        #expect(outcome.versions == [newest, newest], "\(outcome.versions)")
    }

    @Test func aNodeThatDoesNotHoldItsKeyCannotAuthenticate() async throws {
        let central = try cluster.identity(1, "central", role: .central)
        let real = try cluster.identity(2, "ward-5a")
        // A stolen certificate with a key of the thief's own.
        let thief = NodeIdentity(unchecked: SigningKey(), certificate: real.certificate, clusterKey: cluster.key.publicKey)
        let outcome = await handshake(client: cluster.admission(thief), server: cluster.admission(central))
        guard case .failure(let error) = outcome.server else {
            Issue.record("a node without its key authenticated")
            return
        }
        #expect(error.code == .handshakeFailed)
    }

    @Test func certificatesRoundTripAndRejectGarbage() throws {
        let identity = try cluster.identity(7, "callcenter-1", role: .callcenter)
        let decoded = try NodeCertificate(decoding: identity.certificate.encoded)
        #expect(decoded == identity.certificate)
        let bytes = identity.certificate.encoded
        for length in 0..<bytes.count {
            #expect(throws: SyncError.self) { try NodeCertificate(decoding: Array(bytes.prefix(length))) }
        }
    }
}
