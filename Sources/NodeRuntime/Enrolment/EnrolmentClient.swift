import Crypto
import Foundation
import NIOCore
import NIOPosix
import Replica
import Sodium
import SwiftASN1
import SyncProtocol
import X509

/// A new node's side of enrolment by one-time code: it makes its own keys, asks central over the
/// sync port, and pins the cluster key from central's answer, which the code authenticates.
extension NodeDirectory {
    /// How long a new node waits for central's answer.
    package static let enrolmentTimeout: Duration = .seconds(20)

    /// Creates an enrolled node in this (new) directory by redeeming `typedCode` at central.
    /// - Throws: ``NodeSetupError`` when the code is not a code, central cannot be reached or refuses
    ///   (unknown, used or expired code, other policies), or its answer is not authenticated by the code.
    @discardableResult
    package func join(code typedCode: String, central: String, _ setup: NodeSetup) async throws -> NodeConfiguration {
        guard !exists else { throw NodeSetupError("\(url.path) already holds a node; choose another --dir") }
        let nodeKey = SigningKey()
        let (answer, http) = try await redeem(typedCode, at: central, key: nodeKey, policyHash: try setup.policies.load().contentHash)
        let grant = EnrolmentGrant(
            certificate: answer.certificate, secretKey: nodeKey.secretKeyBytes, clusterKey: answer.clusterKey,
            central: central, policyHash: answer.policyHash, caPEM: http.authorityPEM, http: http.certificate)
        return try join(with: grant, setup)
    }

    /// Re-enrols the node in this directory with a new code, keeping its key, id and replica: for a
    /// node whose certificate expired while it was offline. The node must be stopped.
    /// - Returns: the new certificate.
    /// - Throws: ``NodeSetupError`` as ``join(code:central:_:)``, and when central is of another
    ///   cluster, or the code was issued for another node.
    @discardableResult
    package func reenrol(code typedCode: String, central: String) async throws -> NodeCertificate {
        guard exists else { throw NodeSetupError("\(url.path) holds no node to re-enrol") }
        let lock = try NodeLock(self, purpose: "re-enrolling it")
        defer { withExtendedLifetime(lock) {} }
        let identity = try identity()
        let (answer, http) = try await redeem(
            typedCode, at: central, key: identity.key, policyHash: try policies().contentHash, previous: identity.certificate.encoded)
        guard answer.clusterKey == identity.clusterKey else {
            throw NodeSetupError("central at \(central) belongs to another cluster than this node")
        }
        try write(answer.certificate.encoded, to: "node.cert")
        try write(Array(http.authorityPEM.utf8), to: Self.authorityCertificateFile)
        try saveHTTPCertificate(http.certificate)
        var configuration = try configuration()
        if configuration.peers.first != central { configuration.peers = [central] + configuration.peers.filter { $0 != central } }
        try save(configuration)
        return answer.certificate
    }

    /// Sends a request for `key` under the code and returns central's verified answer, with the
    /// HTTPS certificate it issued for a fresh key.
    func redeem(
        _ typedCode: String, at central: String, key: SigningKey, policyHash: String, previous: [UInt8] = []
    ) async throws -> (EnrolmentAnswer, (certificate: HTTPCertificate, authorityPEM: String)) {
        guard let code = EnrolmentCode.normalized(typedCode) else {
            throw NodeSetupError("'\(typedCode.prefix(40))' is not an enrolment code (16 letters and digits, like K7QF-M2XA-9PZD-4HRT)")
        }
        let endpoint = try Endpoint(central)
        let httpKey = P256.Signing.PrivateKey()
        let request = EnrolmentRequest.make(
            code: code, key: key, policyHash: policyHash, signingRequest: try Self.signingRequest(httpKey), previousCertificate: previous)
        let codeKey = EnrolmentCode.key(code)
        let frame = try await Self.exchange(request.encoded(codeKey: codeKey), with: endpoint)
        let answer: EnrolmentAnswer
        do {
            answer = try EnrolmentAnswer.verified(frame, for: request, codeKey: codeKey, now: SystemWallClock().now())
        } catch {
            throw NodeSetupError(error.message)
        }
        let httpCertificate = try Certificate(derEncoded: answer.httpCertificate)
        let authority = try Certificate(derEncoded: answer.authorityCertificate)
        guard httpCertificate.publicKey == Certificate.PublicKey(httpKey.publicKey) else {
            throw NodeSetupError("central's HTTPS certificate is not for this node's key")
        }
        let authorityPEM = try authority.serializeAsPEM().pemString
        let chain = try httpCertificate.serializeAsPEM().pemString + "\n" + authorityPEM
        return (answer, (HTTPCertificate(chainPEM: chain, keyPEM: httpKey.pemRepresentation), authorityPEM))
    }

    /// A fresh P-256 key for a node's HTTPS.
    static func newHTTPKey() -> P256.Signing.PrivateKey { P256.Signing.PrivateKey() }

    /// A PKCS #10 request for the node's HTTPS key (central fills in the names).
    static func signingRequest(_ key: P256.Signing.PrivateKey) throws -> [UInt8] {
        let request = try CertificateSigningRequest(
            version: .v1, subject: try DistinguishedName { CommonName("suifang node") }, privateKey: Certificate.PrivateKey(key),
            attributes: CertificateSigningRequest.Attributes(), signatureAlgorithm: .ecdsaWithSHA256)
        var serializer = DER.Serializer()
        try serializer.serialize(request)
        return serializer.serializedBytes
    }

    /// Sends one frame to central's sync port and returns its one answer.
    static func exchange(_ frame: [UInt8], with endpoint: Endpoint) async throws -> [UInt8] {
        let connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .connect(host: endpoint.host, port: endpoint.port) { channel in NodeRuntime.wrap(channel) }
        } catch {
            throw NodeSetupError("cannot reach central at \(endpoint): \(error)")
        }
        let channel = connection.channel
        let deadline = Task {
            try await Task.sleep(for: enrolmentTimeout)
            channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        return try await connection.executeThenClose { inbound, outbound in
            try await ChannelFrameSender(outbound, channel: channel).send(frame)
            var receiver = ChannelFrameReceiver(inbound)
            guard let answer = try? await receiver.next() else {
                throw NodeSetupError("central at \(endpoint) did not answer the enrolment request (is it running, and is this its sync address?)")
            }
            return answer
        }
    }
}
