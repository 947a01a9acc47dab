import Replica
import Sodium
import TestSupport
import Testing

@testable import SyncProtocol

/// A ward node's certificate names its wards; the cluster key's signature covers them.
@Suite("Certificates that name wards")
struct CertificateWardTests {
    let cluster = SigningKey()

    @Test func wardsTravelInTheSignedCertificate() throws {
        let key = SigningKey()
        let certificate = try NodeCertificate.issue(
            nodeID: NodeID(7), role: .ward, name: "ward-card", publicKey: key.publicKey,
            wards: ["W-CARD-1", "W-CARD-2"], by: cluster, issuedAt: testNow - 1000, validFor: 86_400_000)
        let decoded = try NodeCertificate(decoding: certificate.encoded)
        #expect(decoded.wards == ["W-CARD-1", "W-CARD-2"])
        try decoded.verify(clusterKey: cluster.publicKey, now: testNow)
        // A thief who adds a ward to the certificate breaks the cluster's signature.
        var widened = decoded
        widened.wards.append("W-ORTH-1")
        #expect(throws: SyncError.self) { try NodeCertificate(decoding: widened.encoded).verify(clusterKey: cluster.publicKey, now: testNow) }
        let identity = try NodeIdentity(key: key, certificate: certificate, clusterKey: cluster.publicKey)
        let trust = CertificateTrust(identity: identity)
        #expect(try trust.identify(origin: NodeID(7), credential: certificate.encoded).wards == ["W-CARD-1", "W-CARD-2"])
        #expect(trust.identity.mayWrite(forWard: "W-CARD-2") && !trust.identity.mayWrite(forWard: "W-ORTH-1"))
    }

    @Test func onlyWardNodesNameWardsAndWardNamesAreBounded() throws {
        let key = SigningKey()
        #expect(throws: SyncError.self) {
            try NodeCertificate.issue(
                nodeID: NodeID(8), role: .callcenter, name: "cc", publicKey: key.publicKey, wards: ["W-1"],
                by: cluster, issuedAt: testNow, validFor: 1000)
        }
        #expect(throws: SyncError.self) {
            try NodeCertificate.issue(
                nodeID: NodeID(8), role: .ward, name: "w", publicKey: key.publicKey, wards: ["W\n1"],
                by: cluster, issuedAt: testNow, validFor: 1000)
        }
        #expect(throws: SyncError.self) {
            try NodeCertificate.issue(
                nodeID: NodeID(8), role: .ward, name: "w", publicKey: key.publicKey, wards: (0...32).map { "W-\($0)" },
                by: cluster, issuedAt: testNow, validFor: 1000)
        }
    }

    @Test func aCertificateFromBeforeWardsStillReadsAndVerifies() throws {
        let key = SigningKey()
        var bytes = Array("SFC1".utf8)
        appendFixed64(9, to: &bytes)
        bytes.append(NodeRole.callcenter.rawValue)
        bytes.append(2)
        bytes += Array("cc".utf8)
        bytes += key.publicKey + cluster.publicKey
        appendFixed64(testNow - 1000, to: &bytes)
        appendFixed64(testNow + 1000, to: &bytes)
        let certificate = try NodeCertificate(decoding: bytes + cluster.sign(bytes))
        #expect(certificate.wards.isEmpty && certificate.role == .callcenter)
        try certificate.verify(clusterKey: cluster.publicKey, now: testNow)
    }
}
