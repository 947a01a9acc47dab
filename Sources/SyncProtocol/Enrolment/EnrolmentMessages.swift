import Replica
import Sodium

/// A new node's request to central, authenticated by the enrolment code both ends know.
///
/// ```
/// "SFE1" | code id (bytes) | node public key (bytes) | policy hash (string) | signing request (bytes)
///        | previous certificate (bytes; empty for a new node) | proof (bytes) | mac (bytes)
/// proof = Ed25519_node("suifang-enrol-v1" ‖ code id ‖ node public key ‖ policy hash ‖ 0 ‖ signing request
///                      ‖ previous certificate)
/// mac   = BLAKE2b keyed with the code's key, over everything before it
/// ```
/// The signing request is a PKCS #10 request for the node's HTTPS key (checked by NodeRuntime,
/// which speaks X.509). The node made both keys itself; neither secret ever leaves it.
public struct EnrolmentRequest: Sendable, Equatable {
    static let magic = Array("SFE1".utf8)
    static let context = Array("suifang-enrol-v1".utf8)

    /// Which pending code the request redeems (``EnrolmentCode/identifier(_:)``).
    public var codeID: [UInt8]
    /// The node's Ed25519 public key: its certificate will name it.
    public var publicKey: [UInt8]
    /// The node's conflict policies' hash: central refuses (and keeps the code) when it differs.
    public var policyHash: String
    /// A DER PKCS #10 request for the node's HTTPS certificate.
    public var signingRequest: [UInt8]
    /// A node re-enrolling to keep its replica (its certificate expired): its last certificate,
    /// for the same key. Empty for a new node.
    public var previousCertificate: [UInt8] = []
    /// The node's signature with the key it asks a certificate for (it holds that key).
    public var proof: [UInt8]

    /// A request for `code`, signed by the node's new key.
    public static func make(
        code normalized: String, key: SigningKey, policyHash: String, signingRequest: [UInt8], previousCertificate: [UInt8] = []
    ) -> EnrolmentRequest {
        var request = EnrolmentRequest(
            codeID: EnrolmentCode.identifier(normalized), publicKey: key.publicKey, policyHash: policyHash,
            signingRequest: signingRequest, previousCertificate: previousCertificate, proof: [])
        request.proof = key.sign(request.statement)
        return request
    }

    var statement: [UInt8] {
        Self.context + codeID + publicKey + Array(policyHash.utf8) + [0] + signingRequest + previousCertificate
    }

    /// Whether a connection's first frame is an enrolment request (and not a hello).
    public static func matches(_ frame: [UInt8]) -> Bool { frame.starts(with: magic) }

    /// The frame, authenticated under the code's key.
    public func encoded(codeKey: [UInt8]) -> [UInt8] {
        var writer = BinaryWriter()
        writer.writeBytesRaw(Self.magic)
        writer.writeBytes(codeID)
        writer.writeBytes(publicKey)
        writer.writeString(policyHash)
        writer.writeBytes(signingRequest)
        writer.writeBytes(previousCertificate)
        writer.writeBytes(proof)
        writer.writeBytes(Sodium.mac(key: codeKey, [writer.bytes]))
        return writer.bytes
    }

    /// The request's fields and its MAC, before anything is checked: central needs the code id to
    /// find the key the MAC is checked with.
    /// - Throws: ``EnrolmentError`` `.malformed`.
    public static func decode(_ frame: [UInt8]) throws(EnrolmentError) -> (request: EnrolmentRequest, authenticated: [UInt8], mac: [UInt8]) {
        guard matches(frame) else { throw EnrolmentError(.malformed, "not an enrolment request") }
        var reader = BinaryReader(Array(frame.dropFirst(magic.count)))
        do throws(MalformedDataError) {
            let codeID = Array(try reader.readBytes()), publicKey = Array(try reader.readBytes())
            let policyHash = try reader.readString()
            let signingRequest = Array(try reader.readBytes()), previous = Array(try reader.readBytes())
            let proof = Array(try reader.readBytes())
            let authenticatedLength = magic.count + reader.offset
            let mac = Array(try reader.readBytes())
            guard reader.isAtEnd, codeID.count == EnrolmentCode.identifierLength, publicKey.count == 32, proof.count == 64, mac.count == 32
            else { throw MalformedDataError("field sizes") }
            return (
                EnrolmentRequest(
                    codeID: codeID, publicKey: publicKey, policyHash: policyHash, signingRequest: signingRequest, previousCertificate: previous,
                    proof: proof),
                Array(frame.prefix(authenticatedLength)), mac
            )
        } catch {
            throw EnrolmentError(.malformed, "a malformed enrolment request: \(error.reason)")
        }
    }

    /// Checks the MAC under the code's key and the node's proof of its key.
    /// - Throws: ``EnrolmentError`` `.wrongCode` or `.malformed`.
    public func check(authenticated: [UInt8], mac: [UInt8], codeKey: [UInt8]) throws(EnrolmentError) {
        guard Sodium.constantTimeEqual(Sodium.mac(key: codeKey, [authenticated]), mac) else {
            throw EnrolmentError(.wrongCode, "the enrolment request was not made with this code")
        }
        guard SigningKey.verify(proof, of: statement, by: publicKey) else {
            throw EnrolmentError(.malformed, "the node's proof of its key does not verify")
        }
    }

    /// What central binds its answer to.
    public var digest: [UInt8] { Sodium.hash([statement, proof]) }
}

/// Central's answer: the node's certificate and everything it pins, authenticated under the code.
///
/// ```
/// "SFE2" | certificate (bytes) | cluster key (bytes) | policy hash (string) | HTTPS certificate DER (bytes)
///        | CA certificate DER (bytes) | mac (bytes)
/// mac = BLAKE2b keyed with the code's key, over the request's digest ‖ everything before it
/// ```
/// The node trusts the cluster key because the answer is authenticated with the code it was
/// given by a person, and bound to its own request.
public struct EnrolmentAnswer: Sendable, Equatable {
    static let magic = Array("SFE2".utf8)

    /// The node's certificate, signed by the cluster key.
    public var certificate: NodeCertificate
    /// The cluster key the node pins.
    public var clusterKey: [UInt8]
    /// The conflict policies' hash central runs with.
    public var policyHash: String
    /// The node's HTTPS certificate (DER), issued by the hospital CA for the request's key.
    public var httpCertificate: [UInt8]
    /// The hospital CA's certificate (DER).
    public var authorityCertificate: [UInt8]

    /// Creates an answer.
    public init(certificate: NodeCertificate, clusterKey: [UInt8], policyHash: String, httpCertificate: [UInt8], authorityCertificate: [UInt8]) {
        self.certificate = certificate
        self.clusterKey = clusterKey
        self.policyHash = policyHash
        self.httpCertificate = httpCertificate
        self.authorityCertificate = authorityCertificate
    }

    /// The frame, bound to `request` and authenticated under the code's key.
    public func encoded(for request: EnrolmentRequest, codeKey: [UInt8]) -> [UInt8] {
        var writer = BinaryWriter()
        writer.writeBytesRaw(Self.magic)
        writer.writeBytes(certificate.encoded)
        writer.writeBytes(clusterKey)
        writer.writeString(policyHash)
        writer.writeBytes(httpCertificate)
        writer.writeBytes(authorityCertificate)
        writer.writeBytes(Sodium.mac(key: codeKey, [request.digest, writer.bytes]))
        return writer.bytes
    }

    /// Decodes and checks central's answer to `request`: the MAC under the code's key, a
    /// certificate for the node's own key signed by the cluster key it carries.
    /// - Throws: ``EnrolmentError``: `.refused` with central's reason, `.malformed`, `.wrongCode`.
    public static func verified(_ frame: [UInt8], for request: EnrolmentRequest, codeKey: [UInt8], now: UInt64) throws(EnrolmentError) -> EnrolmentAnswer {
        if frame.starts(with: EnrolmentRefusal.magic) { throw EnrolmentRefusal(decoding: frame).error }
        guard frame.starts(with: magic) else { throw EnrolmentError(.malformed, "central's answer is not an enrolment answer") }
        var reader = BinaryReader(Array(frame.dropFirst(magic.count)))
        let answer: EnrolmentAnswer, mac: [UInt8], authenticated: [UInt8]
        do throws(MalformedDataError) {
            let certificate = Array(try reader.readBytes()), clusterKey = Array(try reader.readBytes())
            let policyHash = try reader.readString()
            let http = Array(try reader.readBytes()), authority = Array(try reader.readBytes())
            authenticated = Array(frame.prefix(magic.count + reader.offset))
            mac = Array(try reader.readBytes())
            guard reader.isAtEnd, clusterKey.count == 32 else { throw MalformedDataError("field sizes") }
            guard let decoded = try? NodeCertificate(decoding: certificate) else { throw MalformedDataError("certificate") }
            answer = EnrolmentAnswer(certificate: decoded, clusterKey: clusterKey, policyHash: policyHash, httpCertificate: http, authorityCertificate: authority)
        } catch {
            throw EnrolmentError(.malformed, "a malformed enrolment answer: \(error.reason)")
        }
        guard Sodium.constantTimeEqual(Sodium.mac(key: codeKey, [request.digest, authenticated]), mac) else {
            throw EnrolmentError(.wrongCode, "the answer is not from the central that issued this code")
        }
        guard answer.certificate.publicKey == request.publicKey, answer.certificate.role != .central else {
            throw EnrolmentError(.malformed, "central's certificate is not for this node's key")
        }
        if let previous = try? NodeCertificate(decoding: request.previousCertificate) {
            guard answer.certificate.nodeID == previous.nodeID, answer.certificate.clusterKey == previous.clusterKey else {
                throw EnrolmentError(.malformed, "central's certificate is not for this node's id and cluster")
            }
        }
        do {
            try answer.certificate.verify(clusterKey: answer.clusterKey, now: now)
        } catch {
            throw EnrolmentError(.malformed, "the certificate does not verify under the cluster key: \(error.message)")
        }
        return answer
    }
}

/// Central's refusal of a request, with a reason for the person at the new node.
///
/// `"SFE0" | reason (byte) | message (string)`. Unauthenticated: at worst a stranger on the path
/// makes one enrolment fail.
public struct EnrolmentRefusal: Sendable {
    static let magic = Array("SFE0".utf8)
    /// Why.
    public var error: EnrolmentError

    /// A refusal carrying `error`.
    public init(_ error: EnrolmentError) { self.error = error }

    init(decoding frame: [UInt8]) {
        var reader = BinaryReader(Array(frame.dropFirst(Self.magic.count)))
        let code = (try? reader.readByte()).flatMap(EnrolmentError.Code.init(rawValue:)) ?? .malformed
        let message = String(((try? reader.readString()) ?? "").prefix(200))
        error = EnrolmentError(code, "central refused the enrolment: \(message.isEmpty ? "\(code)" : message)")
    }

    /// The frame.
    public var encoded: [UInt8] {
        var writer = BinaryWriter()
        writer.writeBytesRaw(Self.magic)
        writer.writeByte(error.code.rawValue)
        writer.writeString(error.message)
        return writer.bytes
    }
}

/// Why an enrolment failed. Messages name codes' states and sizes, never the code itself.
public struct EnrolmentError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The closed set of reasons.
    public enum Code: UInt8, Hashable, Sendable, CaseIterable {
        /// Central holds no pending code with that id: never issued, already used, or expired.
        case unknownCode = 1
        /// The request or answer was not authenticated by the code.
        case wrongCode = 2
        /// A field was malformed, a signature or signing request did not verify.
        case malformed = 3
        /// The node runs other conflict policies than central.
        case policyMismatch = 4
        /// Central could not complete the enrolment (its own files).
        case centralFailed = 5
        /// Central could not be reached or did not answer in time.
        case unreachable = 6
        /// The node was revoked: central renews nothing for it.
        case revoked = 7
        /// The certificate to renew has expired: the node enrols again with a new code.
        case expired = 8
    }

    /// Why.
    public let code: Code
    /// For people and logs.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
