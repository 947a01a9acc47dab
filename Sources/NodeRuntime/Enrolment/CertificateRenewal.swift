import Crypto
import Foundation
import Replica
import Sodium
import SwiftASN1
import SyncProtocol
import X509

/// Certificates that renew themselves: a node asks central on its sync port (``RenewalRequest``)
/// when a third of its certificate's lifetime is left, and central signs a fresh one for the same
/// key, id, name, role and wards, with the same lifetime, and renews the node's HTTPS certificate
/// for its key and names.
extension NodeDirectory {
    /// Central: the answer frame to a renewal request, and what was renewed or why not.
    package func renewCertificate(
        _ frame: [UInt8], now: UInt64, isRevoked: (NodeID) -> Bool
    ) -> (frame: [UInt8], outcome: Result<NodeCertificate, EnrolmentError>) {
        do {
            let answer = try renewal(frame, now: now, isRevoked: isRevoked)
            return (answer.encoded, .success(answer.certificate))
        } catch let error as EnrolmentError {
            return (EnrolmentRefusal(error).encoded, .failure(error))
        } catch {
            let refusal = EnrolmentError(.centralFailed, "central could not renew the certificate")
            return (EnrolmentRefusal(refusal).encoded, .failure(EnrolmentError(.centralFailed, "central could not renew the certificate: \(error)")))
        }
    }

    private func renewal(_ frame: [UInt8], now: UInt64, isRevoked: (NodeID) -> Bool) throws -> RenewalAnswer {
        let request = try RenewalRequest.verified(frame, clusterKey: try read("cluster.pub"), now: now)
        let old = request.certificate
        guard !isRevoked(old.nodeID) else { throw EnrolmentError(.revoked, "node '\(old.name)' has been revoked") }
        let cluster = try SigningKey(secretKey: try readSecret("cluster.key"))
        let renewed = try NodeCertificate.issue(
            nodeID: old.nodeID, role: old.role, name: old.name, publicKey: old.publicKey, wards: old.wards,
            by: cluster, issuedAt: Self.backdated(now),
            validFor: min(old.expiresAt - old.issuedAt, UInt64(Self.maximumValidDays) * 86_400_000) + (now - Self.backdated(now)))
        var http: [UInt8] = []
        if !request.httpCertificate.isEmpty, !request.signingRequest.isEmpty {
            let authority = try hospitalCA()
            guard let current = try? Certificate(derEncoded: request.httpCertificate), authority.signed(current),
                let names = try? current.extensions.subjectAlternativeNames
            else {
                throw EnrolmentError(.malformed, "the HTTPS certificate to renew is not one the hospital CA issued")
            }
            let key = try Self.signingRequestKey(request.signingRequest)
            http = try Self.der(authority.issue(node: old.name, alternatives: Array(names), publicKey: key))
        }
        return RenewalAnswer(certificate: renewed, httpCertificate: http)
    }

    /// The node: asks central at `endpoint` to renew its certificates, and installs what it gets.
    /// - Returns: the node's identity under the renewed certificate.
    /// - Throws: ``NodeSetupError`` when central cannot be reached, refuses, or answers with a
    ///   certificate that changes more than its validity.
    package func renewCertificates(at endpoint: Endpoint, identity: NodeIdentity, now: UInt64) async throws -> NodeIdentity {
        let http = try httpCertificate()
        var current: [UInt8] = [], signingRequest: [UInt8] = [], httpKey: P256.Signing.PrivateKey?
        if let http, let first = try? Certificate(pemEncoded: Self.firstPEM(http.chainPEM)),
            let key = try? P256.Signing.PrivateKey(pemRepresentation: http.keyPEM)
        {
            current = try Self.der(first)
            signingRequest = try Self.signingRequest(key)
            httpKey = key
        }
        let request = RenewalRequest.make(identity: identity, now: now, httpCertificate: current, signingRequest: signingRequest)
        let frame = try await Self.exchange(request.encoded, with: endpoint)
        let answer: RenewalAnswer
        do {
            answer = try RenewalAnswer.verified(frame, for: identity, now: now)
        } catch {
            throw NodeSetupError(error.message)
        }
        let renewed = try NodeIdentity(key: identity.key, certificate: answer.certificate, clusterKey: identity.clusterKey)
        try replace("node.cert", with: answer.certificate.encoded)
        if let httpKey, !answer.httpCertificate.isEmpty {
            let certificate = try Certificate(derEncoded: answer.httpCertificate)
            guard certificate.publicKey == Certificate.PublicKey(httpKey.publicKey) else {
                throw NodeSetupError("central's renewed HTTPS certificate is not for this node's key")
            }
            let authority = String(decoding: try read(Self.authorityCertificateFile), as: UTF8.self)
            try replace(Self.httpChainFile, with: Array((try certificate.serializeAsPEM().pemString + "\n" + authority).utf8))
        }
        return renewed
    }

    /// Writes a file whole or not at all (a new file renamed over the old).
    private func replace(_ name: String, with bytes: [UInt8]) throws {
        try write(bytes, to: name + ".new")
        guard rename(file(name + ".new").path, file(name).path) == 0 else { throw NodeSetupError("cannot replace \(file(name).path)") }
    }

    static func firstPEM(_ chain: String) -> String {
        guard let end = chain.range(of: "-----END CERTIFICATE-----") else { return chain }
        return String(chain[..<end.upperBound])
    }

    /// When the node's HTTPS certificate expires, or nil when it has none it can read.
    package func httpCertificateExpiry() -> Date? {
        guard let http = try? httpCertificate(), let certificate = try? Certificate(pemEncoded: Self.firstPEM(http.chainPEM)) else { return nil }
        return certificate.notValidAfter
    }
}

/// When a node renews: when less than `before` is left of its certificate, by default a third of
/// its lifetime (four months of a year's certificate), so a node offline for weeks still renews in time.
package struct RenewalSchedule: Sendable {
    /// Milliseconds before expiry at which renewal starts; nil for a third of the lifetime.
    package var before: UInt64?

    package init(before: UInt64? = nil) {
        self.before = before
    }

    /// Whether `certificate` is due for renewal at `now`.
    package func isDue(_ certificate: NodeCertificate, now: UInt64) -> Bool {
        let margin = before ?? (certificate.expiresAt - min(certificate.issuedAt, certificate.expiresAt)) / 3
        return certificate.expiresAt <= now || certificate.expiresAt - now <= margin
    }
}
