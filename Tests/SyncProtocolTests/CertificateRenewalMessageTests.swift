import Replica
import Sodium
import Testing

@testable import SyncProtocol

/// Renewal requests and answers: what central renews, what a node installs.
@Suite("Certificate renewal messages")
struct CertificateRenewalMessageTests {
    let cluster = TestCluster()

    @Test func centralRenewsOnlyAValidCertificateSignedByItsKeyRecently() throws {
        let ward = try cluster.identity(2, "ward-5a", wards: ["W-CARD"])
        let request = RenewalRequest.make(identity: ward, now: testNow, httpCertificate: [], signingRequest: [])
        #expect(try RenewalRequest.verified(request.encoded, clusterKey: cluster.key.publicKey, now: testNow) == request)

        let expired = try cluster.identity(2, "ward-5a", issuedAt: testNow - 10_000, validFor: 5_000)
        let cases: [(String, [UInt8], [UInt8], EnrolmentError.Code)] = [
            ("expired: re-enrol instead", RenewalRequest.make(identity: expired, now: testNow, httpCertificate: [], signingRequest: []).encoded, cluster.key.publicKey, .expired),
            ("another cluster", request.encoded, SigningKey().publicKey, .malformed),
            ("replayed later", request.encoded, cluster.key.publicKey, .malformed),
            ("signed by a thief's key", thiefRequest(ward).encoded, cluster.key.publicKey, .wrongCode),
        ]
        for (name, frame, clusterKey, code) in cases {
            let now = name == "replayed later" ? testNow + RenewalRequest.maximumSkew + 1 : testNow
            let error = #expect(throws: EnrolmentError.self, "\(name)") { try RenewalRequest.verified(frame, clusterKey: clusterKey, now: now) }
            #expect(error?.code == code, "\(name): \(String(describing: error))")
        }
    }

    @Test func aNodeInstallsOnlyACertificateThatChangesNothingButItsValidity() throws {
        let ward = try cluster.identity(2, "ward-5a", wards: ["W-CARD"])
        func renewed(_ change: (inout (role: NodeRole, name: String, key: [UInt8], wards: [String], validFor: UInt64, by: SigningKey)) -> Void) throws -> [UInt8] {
            var fields = (role: NodeRole.ward, name: "ward-5a", key: ward.key.publicKey, wards: ["W-CARD"], validFor: UInt64(400 * 86_400_000), by: cluster.key)
            change(&fields)
            let certificate = try NodeCertificate.issue(
                nodeID: NodeID(2), role: fields.role, name: fields.name, publicKey: fields.key, wards: fields.wards, by: fields.by, issuedAt: testNow, validFor: fields.validFor)
            return RenewalAnswer(certificate: certificate, httpCertificate: []).encoded
        }
        let good = try RenewalAnswer.verified(try renewed { _ in }, for: ward, now: testNow)
        #expect(good.certificate.expiresAt > ward.certificate.expiresAt)
        let forged: [(String, [UInt8])] = [
            ("more wards", try renewed { $0.wards = ["W-CARD", "W-ONCO"] }),
            (
                "another role",
                try renewed {
                    $0.role = .callcenter; $0.wards = []
                }
            ),
            ("another name", try renewed { $0.name = "ward-9" }),
            ("another key", try renewed { $0.key = SigningKey().publicKey }),
            ("shorter", try renewed { $0.validFor = 1000 }),
            ("another cluster", try renewed { $0.by = SigningKey() }),
            ("refusal", EnrolmentRefusal(EnrolmentError(.revoked, "revoked")).encoded),
            ("garbage", Array("SFR2".utf8) + Sodium.randomBytes(64)),
        ]
        for (name, frame) in forged {
            #expect(throws: EnrolmentError.self, "\(name)") { try RenewalAnswer.verified(frame, for: ward, now: testNow) }
        }
    }

    @Test func hostileBytesAreRefusedNeverTrap() throws {
        let ward = try cluster.identity(2, "ward-5a", wards: ["W-CARD"])
        let frame = RenewalRequest.make(identity: ward, now: testNow, httpCertificate: [1, 2], signingRequest: [3]).encoded
        for length in 0..<frame.count {
            #expect(throws: EnrolmentError.self) { try RenewalRequest.verified(Array(frame.prefix(length)), clusterKey: cluster.key.publicKey, now: testNow) }
        }
        for _ in 0..<300 {
            var changed = frame
            changed[Int.random(in: 4..<frame.count)] ^= UInt8.random(in: 1...255)
            #expect(throws: EnrolmentError.self) { try RenewalRequest.verified(changed, clusterKey: cluster.key.publicKey, now: testNow) }
        }
    }

    func thiefRequest(_ ward: NodeIdentity) -> RenewalRequest {
        var request = RenewalRequest.make(identity: ward, now: testNow, httpCertificate: [], signingRequest: [])
        request.signature = SigningKey().sign(RenewalRequest.context + request.body)
        return request
    }
}
