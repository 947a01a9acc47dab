import Foundation
import Replica
import Sodium
import Testing

@testable import SyncProtocol

/// The one-time code exchange's messages: what each end accepts, and that nothing hostile traps.
@Suite("Enrolment codes and messages")
struct EnrolmentMessageTests {
    let cluster = TestCluster()
    let code = EnrolmentCode.normalized(EnrolmentCode.random())!

    @Test func codesAreShortTypeableAndForgiving() throws {
        let shown = EnrolmentCode.random()
        #expect(shown.count == 19 && shown.split(separator: "-").count == 4)
        let normalized = try #require(EnrolmentCode.normalized(shown))
        #expect(EnrolmentCode.normalized(shown.lowercased().replacingOccurrences(of: "-", with: " ")) == normalized)
        #expect(EnrolmentCode.normalized("0o1I-lL00-0000-0000") == "0011110000000000")
        #expect(EnrolmentCode.normalized("K7QF-M2XA-9PZD") == nil)
        #expect(EnrolmentCode.normalized("K7QF-M2XA-9PZD-4HRU") == nil, "U is not in Crockford's alphabet")
        #expect(Set((0..<200).map { _ in EnrolmentCode.random() }).count == 200)
        #expect(EnrolmentCode.identifier(normalized) != EnrolmentCode.key(normalized).prefix(EnrolmentCode.identifierLength).map { $0 })
    }

    @Test func aRequestAndItsAnswerVerifyUnderTheCodeOnly() throws {
        let nodeKey = SigningKey()
        let request = EnrolmentRequest.make(code: code, key: nodeKey, policyHash: "p", signingRequest: [1, 2, 3])
        let key = EnrolmentCode.key(code)
        let decoded = try EnrolmentRequest.decode(request.encoded(codeKey: key))
        #expect(decoded.request == request)
        try decoded.request.check(authenticated: decoded.authenticated, mac: decoded.mac, codeKey: key)
        #expect(throws: EnrolmentError.self) {
            try decoded.request.check(authenticated: decoded.authenticated, mac: decoded.mac, codeKey: EnrolmentCode.key(EnrolmentCode.normalized(EnrolmentCode.random())!))
        }

        let answer = try answer(for: nodeKey.publicKey)
        let verified = try EnrolmentAnswer.verified(answer.encoded(for: request, codeKey: key), for: request, codeKey: key, now: testNow)
        #expect(verified == answer)
    }

    @Test(arguments: ["other code", "other request", "other key's certificate", "other cluster's certificate", "refusal"])
    func aNodeRefusesAnAnswerItCannotTrust(_ case: String) throws {
        let nodeKey = SigningKey(), key = EnrolmentCode.key(code)
        let request = EnrolmentRequest.make(code: code, key: nodeKey, policyHash: "p", signingRequest: [1])
        var frame: [UInt8]
        var expected: EnrolmentError.Code
        switch `case` {
        case "other code":
            // An impostor central that does not know the code cannot make the node pin its key.
            frame = try answer(for: nodeKey.publicKey).encoded(for: request, codeKey: EnrolmentCode.key(EnrolmentCode.normalized(EnrolmentCode.random())!))
            expected = .wrongCode
        case "other request":
            let earlier = EnrolmentRequest.make(code: code, key: nodeKey, policyHash: "p", signingRequest: [2])
            frame = try answer(for: nodeKey.publicKey).encoded(for: earlier, codeKey: key)
            expected = .wrongCode
        case "other key's certificate":
            frame = try answer(for: SigningKey().publicKey).encoded(for: request, codeKey: key)
            expected = .malformed
        case "other cluster's certificate":
            var forged = try answer(for: nodeKey.publicKey)
            forged.clusterKey = SigningKey().publicKey
            frame = forged.encoded(for: request, codeKey: key)
            expected = .malformed
        default:
            frame = EnrolmentRefusal(EnrolmentError(.unknownCode, "the code is unknown")).encoded
            expected = .unknownCode
        }
        let error = #expect(throws: EnrolmentError.self) { try EnrolmentAnswer.verified(frame, for: request, codeKey: key, now: testNow) }
        #expect(error?.code == expected, "\(String(describing: error))")
    }

    /// Every truncation and many single-byte changes of both messages are refused, never trap.
    @Test func hostileBytesAreRefusedNeverTrap() throws {
        let nodeKey = SigningKey(), key = EnrolmentCode.key(code)
        let request = EnrolmentRequest.make(code: code, key: nodeKey, policyHash: "p", signingRequest: Array(repeating: 7, count: 40))
        let requestFrame = request.encoded(codeKey: key)
        let answerFrame = try answer(for: nodeKey.publicKey).encoded(for: request, codeKey: key)
        var generator = SystemRandomNumberGenerator()
        for frame in [requestFrame, answerFrame] {
            var variants = (0..<frame.count).map { Array(frame.prefix($0)) }
            for _ in 0..<500 {
                var changed = frame
                changed[Int.random(in: 4..<frame.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator)
                variants.append(changed)
            }
            for variant in variants {
                if let decoded = try? EnrolmentRequest.decode(variant) {
                    #expect(throws: EnrolmentError.self) { try decoded.request.check(authenticated: decoded.authenticated, mac: decoded.mac, codeKey: key) }
                }
                #expect(throws: EnrolmentError.self) { try EnrolmentAnswer.verified(variant, for: request, codeKey: key, now: testNow) }
            }
        }
    }

    func answer(for publicKey: [UInt8]) throws -> EnrolmentAnswer {
        let certificate = try NodeCertificate.issue(
            nodeID: NodeID(9), role: .ward, name: "ward-9", publicKey: publicKey, wards: ["W-9"],
            by: cluster.key, issuedAt: testNow - 1000, validFor: 86_400_000)
        return EnrolmentAnswer(certificate: certificate, clusterKey: cluster.key.publicKey, policyHash: "p", httpCertificate: [1], authorityCertificate: [2])
    }
}
