import Replica
import Sodium

/// A node's request to central for a fresh certificate, on central's sync port, before its own
/// expires: same key, id, name, role and wards, a new validity period.
///
/// ```
/// "SFR1" | certificate (bytes) | timestamp u64 (fixed, ms) | HTTPS certificate (bytes, DER; may be empty)
///        | HTTPS signing request (bytes, DER; may be empty) | signature (bytes)
/// signature = Ed25519_node("suifang-renew-v1" ‖ everything between the magic and the signature)
/// ```
/// Central renews only a certificate that is still valid (an expired node re-enrols with a code),
/// of a node that is not revoked, signed with its key within a few minutes of central's clock.
public struct RenewalRequest: Sendable, Equatable {
    static let magic = Array("SFR1".utf8)
    static let context = Array("suifang-renew-v1".utf8)
    /// How far the request's time may be from central's.
    public static let maximumSkew: UInt64 = 10 * 60_000

    /// The certificate to renew.
    public var certificate: NodeCertificate
    /// When the node made the request, ms since 1970 (bounds replays).
    public var timestamp: UInt64
    /// The node's current HTTPS certificate (DER), whose names the new one keeps; empty for none.
    public var httpCertificate: [UInt8]
    /// A PKCS #10 request for the node's HTTPS key; empty for none.
    public var signingRequest: [UInt8]
    /// The node's signature over the request.
    public var signature: [UInt8]

    /// A request signed by `identity`.
    public static func make(identity: NodeIdentity, now: UInt64, httpCertificate: [UInt8], signingRequest: [UInt8]) -> RenewalRequest {
        var request = RenewalRequest(certificate: identity.certificate, timestamp: now, httpCertificate: httpCertificate, signingRequest: signingRequest, signature: [])
        request.signature = identity.key.sign(context + request.body)
        return request
    }

    /// Whether a connection's first frame is a renewal request.
    public static func matches(_ frame: [UInt8]) -> Bool { frame.starts(with: magic) }

    var body: [UInt8] {
        var writer = BinaryWriter()
        writer.writeBytes(certificate.encoded)
        writer.writeFixed64(timestamp)
        writer.writeBytes(httpCertificate)
        writer.writeBytes(signingRequest)
        return writer.bytes
    }

    /// The frame.
    public var encoded: [UInt8] {
        var writer = BinaryWriter()
        writer.writeBytesRaw(Self.magic)
        writer.writeBytesRaw(body)
        writer.writeBytes(signature)
        return writer.bytes
    }

    /// Decodes a request and checks it: a certificate of this cluster valid now, a time within
    /// ``maximumSkew`` of `now`, the node's signature.
    /// - Throws: ``EnrolmentError``: `.malformed`, `.expired` (re-enrol instead), `.wrongCode` (not signed by the node).
    public static func verified(_ frame: [UInt8], clusterKey: [UInt8], now: UInt64) throws(EnrolmentError) -> RenewalRequest {
        guard matches(frame) else { throw EnrolmentError(.malformed, "not a renewal request") }
        var reader = BinaryReader(Array(frame.dropFirst(magic.count)))
        let request: RenewalRequest
        do throws(MalformedDataError) {
            let certificateBytes = Array(try reader.readBytes())
            let timestamp = try reader.readFixed64()
            let http = Array(try reader.readBytes()), signingRequest = Array(try reader.readBytes())
            let signature = Array(try reader.readBytes())
            guard reader.isAtEnd, signature.count == 64 else { throw MalformedDataError("field sizes") }
            guard let certificate = try? NodeCertificate(decoding: certificateBytes) else { throw MalformedDataError("certificate") }
            request = RenewalRequest(certificate: certificate, timestamp: timestamp, httpCertificate: http, signingRequest: signingRequest, signature: signature)
        } catch {
            throw EnrolmentError(.malformed, "a malformed renewal request: \(error.reason)")
        }
        do {
            try request.certificate.verify(clusterKey: clusterKey, now: now)
        } catch  where error.code == .expired {
            throw EnrolmentError(.expired, "the certificate of '\(request.certificate.name)' has expired: enrol it again with a new code")
        } catch {
            throw EnrolmentError(.malformed, "the certificate does not verify under this cluster's key")
        }
        guard request.certificate.role != .central else { throw EnrolmentError(.malformed, "central renews its own certificate itself") }
        guard max(request.timestamp, now) - min(request.timestamp, now) <= maximumSkew else {
            throw EnrolmentError(.malformed, "the request's time is more than 10 minutes from central's (a replay, or a wrong clock)")
        }
        guard SigningKey.verify(request.signature, of: context + request.body, by: request.certificate.publicKey) else {
            throw EnrolmentError(.wrongCode, "the renewal request is not signed by the certificate's key")
        }
        return request
    }
}

/// Central's answer to a renewal: the new certificate, and the new HTTPS certificate when asked.
///
/// `"SFR2" | certificate (bytes) | HTTPS certificate (bytes, DER; may be empty)`, or an
/// ``EnrolmentRefusal``. Not authenticated as a frame: the node checks the certificate against the
/// cluster key it pinned, and that it changes nothing but the validity.
public struct RenewalAnswer: Sendable, Equatable {
    static let magic = Array("SFR2".utf8)

    /// The renewed certificate.
    public var certificate: NodeCertificate
    /// The renewed HTTPS certificate (DER), or empty.
    public var httpCertificate: [UInt8]

    /// Creates an answer.
    public init(certificate: NodeCertificate, httpCertificate: [UInt8]) {
        self.certificate = certificate
        self.httpCertificate = httpCertificate
    }

    /// The frame.
    public var encoded: [UInt8] {
        var writer = BinaryWriter()
        writer.writeBytesRaw(Self.magic)
        writer.writeBytes(certificate.encoded)
        writer.writeBytes(httpCertificate)
        return writer.bytes
    }

    /// Decodes and checks central's answer for `identity`: a certificate under the pinned cluster
    /// key, for the same key, id, name, role and wards, valid now and longer than the current one.
    /// - Throws: ``EnrolmentError``: `.refused` reasons from central, or `.malformed`.
    public static func verified(_ frame: [UInt8], for identity: NodeIdentity, now: UInt64) throws(EnrolmentError) -> RenewalAnswer {
        if frame.starts(with: EnrolmentRefusal.magic) { throw EnrolmentRefusal(decoding: frame).error }
        guard frame.starts(with: magic) else { throw EnrolmentError(.malformed, "central's answer is not a renewal answer") }
        var reader = BinaryReader(Array(frame.dropFirst(magic.count)))
        let answer: RenewalAnswer
        do throws(MalformedDataError) {
            let certificateBytes = Array(try reader.readBytes()), http = Array(try reader.readBytes())
            guard reader.isAtEnd, let certificate = try? NodeCertificate(decoding: certificateBytes) else { throw MalformedDataError("fields") }
            answer = RenewalAnswer(certificate: certificate, httpCertificate: http)
        } catch {
            throw EnrolmentError(.malformed, "a malformed renewal answer: \(error.reason)")
        }
        let old = identity.certificate, new = answer.certificate
        guard new.nodeID == old.nodeID, new.publicKey == old.publicKey, new.role == old.role, new.name == old.name, new.wards == old.wards,
            new.expiresAt > old.expiresAt
        else {
            throw EnrolmentError(.malformed, "central's renewed certificate changes more than its validity")
        }
        do {
            try new.verify(clusterKey: identity.clusterKey, now: now)
        } catch {
            throw EnrolmentError(.malformed, "the renewed certificate does not verify under the pinned cluster key")
        }
        return answer
    }
}
