import Crypto
import Foundation
import Logging
import Replica
import Sodium
import SwiftASN1
import SyncProtocol
import X509

/// Central's side of enrolment by one-time code: `suifang enroll` issues a code, and a new node's
/// request on the sync port (``EnrolmentRequest``) redeems it for a certificate.
///
/// A code works once, for a few hours, for the name, role and wards it was issued for; three
/// requests that name it but are not authenticated by it destroy it. It is destroyed (saved)
/// before the answer leaves, so a code can never enrol two nodes.
extension NodeDirectory {
    /// How long a code lasts unless `enroll --code-hours` says otherwise, and at most.
    package static let defaultCodeHours = 4.0
    package static let maximumCodeHours = 72.0
    /// The longest certificate central issues (ten years, as central's own).
    package static let maximumValidDays = 3650
    /// When a certificate issued at `now` starts: a little earlier, so a peer whose clock lags
    /// accepts it at once.
    static func backdated(_ now: UInt64) -> UInt64 { now > RenewalRequest.maximumSkew ? now - RenewalRequest.maximumSkew : 0 }

    /// Issues a one-time code for a node to be enrolled (central only).
    /// - Returns: the code, grouped for reading aloud, and when it expires (ms since 1970).
    /// - Throws: ``NodeSetupError`` when this is not central, or the role, wards or hours do not fit.
    package func issueEnrolmentCode(
        name: String, role: NodeRole, wards: [String], validDays: Int, httpNames: [String], hours: Double, now: UInt64
    ) throws -> (code: String, expiresAt: UInt64) {
        try checkEnrolment(name: name, role: role, wards: wards, validDays: validDays)
        guard hours > 0, hours <= Self.maximumCodeHours else {
            throw NodeSetupError("--code-hours must be more than 0 and at most \(Int(Self.maximumCodeHours))")
        }
        _ = try readSecret("cluster.key")  // fails here, not at redemption, when this central cannot sign
        for name in httpNames { _ = try HospitalCA.generalName(name) }
        let code = EnrolmentCode.random()
        let normalized = EnrolmentCode.normalized(code)!
        let expiresAt = now + UInt64(hours * 3_600_000)
        let pending = PendingEnrolment(
            codeID: Data(EnrolmentCode.identifier(normalized)).base64EncodedString(), codeKey: Data(EnrolmentCode.key(normalized)).base64EncodedString(),
            name: name, role: role.description, wards: wards, httpNames: httpNames, validDays: validDays, expiresAt: expiresAt)
        try PendingEnrolments(directory: self).update(now: now) { $0.append(pending) }
        return (code, expiresAt)
    }

    /// Answers an enrolment request: central's ``EnrolmentAnswer`` frame, or an ``EnrolmentRefusal``
    /// frame and why.
    /// - Parameter isRevoked: whether a node is revoked (a re-enrolling node must not be).
    package func redeemEnrolment(
        _ frame: [UInt8], now: UInt64, isRevoked: (NodeID) -> Bool
    ) -> (frame: [UInt8], outcome: Result<NodeCertificate, EnrolmentError>) {
        do {
            let (answer, request, key) = try redeem(frame, now: now, isRevoked: isRevoked)
            return (answer.encoded(for: request, codeKey: key), .success(answer.certificate))
        } catch let error as EnrolmentError {
            return (EnrolmentRefusal(error).encoded, .failure(error))
        } catch {
            let failure = EnrolmentError(.centralFailed, "central could not complete the enrolment: \(error)")
            return (EnrolmentRefusal(EnrolmentError(.centralFailed, "central could not complete the enrolment")).encoded, .failure(failure))
        }
    }

    private func redeem(_ frame: [UInt8], now: UInt64, isRevoked: (NodeID) -> Bool) throws -> (EnrolmentAnswer, EnrolmentRequest, [UInt8]) {
        let (request, authenticated, mac) = try EnrolmentRequest.decode(frame)
        let policyHash = try policies().contentHash, clusterKey = try read("cluster.pub")
        let pending: PendingEnrolment = try PendingEnrolments(directory: self).update(now: now) { pending in
            guard let index = pending.firstIndex(where: { $0.codeID == Data(request.codeID).base64EncodedString() }) else {
                throw EnrolmentError(.unknownCode, "the code is unknown, already used or expired: ask for a new one (suifang enroll on central)")
            }
            do {
                try request.check(authenticated: authenticated, mac: mac, codeKey: Array(Data(base64Encoded: pending[index].codeKey) ?? Data()))
                guard request.policyHash == policyHash else {
                    throw EnrolmentError(.policyMismatch, "the node runs other conflict policies (hash \(request.policyHash.prefix(12))…) than central (\(policyHash.prefix(12))…)")
                }
                _ = try Self.signingRequestKey(request.signingRequest)
                _ = try Self.reenrolling(request, for: pending[index], clusterKey: clusterKey, isRevoked: isRevoked)
            } catch let error as EnrolmentError where error.code != .policyMismatch {
                pending[index].failures += 1
                if pending[index].failures >= PendingEnrolments.maximumFailures { pending.remove(at: index) }
                throw error
            }
            return pending.remove(at: index)  // destroyed before anything is issued
        }
        let key = Array(Data(base64Encoded: pending.codeKey) ?? Data())
        guard let role = NodeRole(name: pending.role) else { throw NodeSetupError("a pending code names an unknown role") }
        let cluster = try SigningKey(secretKey: try readSecret("cluster.key"))
        let previous = try Self.reenrolling(request, for: pending, clusterKey: clusterKey, isRevoked: isRevoked)
        let certificate = try NodeCertificate.issue(
            nodeID: previous?.nodeID ?? NodeID.random(), role: role, name: pending.name, publicKey: request.publicKey, wards: pending.wards,
            by: cluster, issuedAt: Self.backdated(now), validFor: UInt64(min(max(pending.validDays, 1), Self.maximumValidDays)) * 86_400_000 + (now - Self.backdated(now)))
        let authority = try hospitalCA()
        let http = try authority.issue(
            node: pending.name, names: Self.httpNames(pending.name, pending.httpNames), publicKey: try Self.signingRequestKey(request.signingRequest))
        let answer = EnrolmentAnswer(
            certificate: certificate, clusterKey: cluster.publicKey, policyHash: policyHash,
            httpCertificate: try Self.der(http), authorityCertificate: try Self.der(authority.certificate))
        return (answer, request, key)
    }

    /// The certificate a re-enrolling node last had (nil for a new node): issued by this cluster
    /// (expired or not), for the key the request proves, the name, role and wards of the code, of
    /// a node not revoked. It keeps its id, so its replica stays its own.
    static func reenrolling(
        _ request: EnrolmentRequest, for pending: PendingEnrolment, clusterKey: [UInt8], isRevoked: (NodeID) -> Bool
    ) throws(EnrolmentError) -> NodeCertificate? {
        guard !request.previousCertificate.isEmpty else { return nil }
        guard let previous = try? NodeCertificate(decoding: request.previousCertificate), previous.isIssued(by: clusterKey) else {
            throw EnrolmentError(.malformed, "the previous certificate was not issued by this cluster")
        }
        guard previous.publicKey == request.publicKey else { throw EnrolmentError(.malformed, "the previous certificate is for another key") }
        // Byte for byte: a legacy ward "W-\u{212A}1" re-enrolled as "W-K1" would be another ward.
        guard previous.name.isSameID(as: pending.name), previous.role.description == pending.role,
            previous.wards.map(ExactText.init).sorted() == pending.wards.map(ExactText.init).sorted()
        else {
            throw EnrolmentError(
                .malformed, "the code was issued for another node: re-enrolment keeps the node's name, role and wards ('\(previous.name)')")
        }
        guard !isRevoked(previous.nodeID) else { throw EnrolmentError(.revoked, "node '\(previous.name)' has been revoked") }
        return previous
    }

    /// The P-256 key of a PKCS #10 request whose signature verifies.
    static func signingRequestKey(_ bytes: [UInt8]) throws(EnrolmentError) -> P256.Signing.PublicKey {
        guard let request = try? CertificateSigningRequest(derEncoded: bytes),
            request.publicKey.isValidSignature(request.signature, for: request),
            let key = P256.Signing.PublicKey(request.publicKey)
        else {
            throw EnrolmentError(.malformed, "the HTTPS signing request is not a valid P-256 PKCS #10 request")
        }
        return key
    }

    static func der(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    /// Whether `ward` may be named in a new certificate: 1 to 32 bytes (a certificate's limit) of
    /// ASCII letters, digits, `.`, `_`, `:` or `-` (what a `ward` row's id takes, less its length).
    /// Certificates themselves take any printable UTF-8 (older ones keep working), but a ward id
    /// is compared byte for byte everywhere, and one canonically equivalent to another (a Kelvin
    /// sign for `K`) or holding `~` (the separator of ward-bound row ids) is a trap for people and
    /// code alike: enrolment refuses them.
    static func isPlainWardID(_ ward: String) -> Bool {
        (1...NodeCertificate.maximumWardBytes).contains(ward.utf8.count)
            && ward.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x3A
            }
    }

    /// What any enrolment needs: a role that may be enrolled, wards that fit it (plain ward ids,
    /// ``isPlainWardID(_:)``), a positive validity.
    func checkEnrolment(name: String, role: NodeRole, wards: [String], validDays: Int) throws {
        guard role != .central else { throw NodeSetupError("the role must be ward or callcenter") }
        if role == .ward, wards.isEmpty { throw NodeSetupError("a ward node works for at least one ward: add --ward WARD-ID (repeatable)") }
        if role != .ward, !wards.isEmpty { throw NodeSetupError("--ward is for ward nodes only") }
        if let odd = wards.first(where: { !Self.isPlainWardID($0) }) {
            throw NodeSetupError(
                "ward id '\(odd.unicodeScalars.map { $0.escaped(asASCII: true) }.joined())' is not allowed: ward ids are 1 to \(NodeCertificate.maximumWardBytes) ASCII letters, digits, '.', '_', ':' or '-'"
            )
        }
        guard validDays > 0, validDays <= Self.maximumValidDays else { throw NodeSetupError("--valid-days must be from 1 to \(Self.maximumValidDays)") }
        guard try configuration().role == "central" else { throw NodeSetupError("only central enrols nodes") }
    }
}

/// Answers enrolment and renewal requests that arrive on central's sync port, off the event loops.
package struct EnrolmentDesk: Sendable {
    let directory: NodeDirectory
    let logger: Logger
    let isRevoked: @Sendable (NodeID) -> Bool

    package init(directory: NodeDirectory, logger: Logger, isRevoked: @escaping @Sendable (NodeID) -> Bool) {
        self.directory = directory
        self.logger = logger
        self.isRevoked = isRevoked
    }

    /// Whether a connection's first frame is for the desk rather than a hello.
    package static func handles(_ frame: [UInt8]) -> Bool {
        EnrolmentRequest.matches(frame) || RenewalRequest.matches(frame)
    }

    /// Central's answer frame to a request frame; logs the outcome (names and ids, never the code).
    package func answer(_ frame: [UInt8], from address: String, now: UInt64) async -> [UInt8] {
        if RenewalRequest.matches(frame) { return await renew(frame, from: address, now: now) }
        let directory = self.directory
        let isRevoked = self.isRevoked
        let result = try? await blocking { directory.redeemEnrolment(frame, now: now, isRevoked: isRevoked) }
        guard let result else { return EnrolmentRefusal(EnrolmentError(.centralFailed, "central is shutting down")).encoded }
        switch result.outcome {
        case .success(let certificate):
            logger.notice(
                "enrolled a node with a one-time code",
                metadata: ["sync.peer": "\(certificate.name)", "node.id": "\(certificate.nodeID)", "node.role": "\(certificate.role)", "sync.peer.address": "\(address)"])
        case .failure(let error):
            logger.warning("enrolment refused", metadata: ["sync.peer.address": "\(address)", "enrolment.error": "\(error.code)", "enrolment.reason": "\(error.message)"])
        }
        return result.frame
    }

    private func renew(_ frame: [UInt8], from address: String, now: UInt64) async -> [UInt8] {
        let directory = self.directory, isRevoked = self.isRevoked
        let result = try? await blocking { directory.renewCertificate(frame, now: now, isRevoked: isRevoked) }
        guard let result else { return EnrolmentRefusal(EnrolmentError(.centralFailed, "central is shutting down")).encoded }
        switch result.outcome {
        case .success(let certificate):
            logger.notice(
                "renewed a node's certificate",
                metadata: ["sync.peer": "\(certificate.name)", "node.id": "\(certificate.nodeID)", "certificate.expiresAt": "\(certificate.expiresAt)"])
        case .failure(let error):
            logger.warning(
                "certificate renewal refused", metadata: ["sync.peer.address": "\(address)", "enrolment.error": "\(error.code)", "enrolment.reason": "\(error.message)"])
        }
        return result.frame
    }
}
