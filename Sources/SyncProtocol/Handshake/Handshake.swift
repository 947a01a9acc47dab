import Replica
import Sodium

/// What a node checks about a peer during the handshake.
public struct PeerAdmission: Sendable {
    /// This node's identity.
    public var identity: NodeIdentity
    /// The loaded conflict policies: a peer must load the same, or (protocol 3 on) a compatible set
    /// (``SharedSchema``), as when the two run different releases.
    public var policies: PolicySet
    /// The content hash of ``policies``.
    public var policyHash: String { policies.contentHash }
    /// Whether a node is revoked (the replicated revocation list).
    public var isRevoked: @Sendable (NodeID) async -> Bool
    /// Milliseconds since 1970, for certificate validity.
    public var now: @Sendable () -> UInt64

    /// Creates admission rules.
    public init(
        identity: NodeIdentity, policies: PolicySet, isRevoked: @escaping @Sendable (NodeID) async -> Bool,
        now: @escaping @Sendable () -> UInt64
    ) {
        self.identity = identity
        self.policies = policies
        self.isRevoked = isRevoked
        self.now = now
    }
}

/// The handshake: both sides prove who they are and agree keys, versions and policies.
///
/// ```
/// client                                   server
///   hello(version, policyHash, kxKey, nonce, cert) ─▶           version: the newest the client speaks
///                                          ◀─ hello(…)          version: the newest both speak; or refusal (a revoked node: central's
///                                                               signed ``WipeOrder``, then the refusal)
///   auth(sig_client(transcript ‖ "C")) ─▶
///                                          ◀─ auth(sig_server(transcript ‖ "S"))  or refusal
///   header(secretstream, client→server) ─▶  ◀─ header(server→client)
///   policies(canonical text) ─▶  ◀─ policies(canonical text)    protocol 3 on, when the hashes differ (encrypted)
/// ```
/// Under protocol 2 both hellos must carry the same policy hash. From protocol 3 on, nodes whose
/// hashes differ (two releases during a rolling upgrade) send each other their policy set's
/// canonical text, each judges the two compatible (``SharedSchema``) or refuses with
/// `policyMismatch` naming the table, and the session carries what both declare.
/// `transcript` = BLAKE2b-256("suifang-handshake-v1" ‖ clientHello ‖ serverHello). The signatures
/// cover both ephemeral key-exchange keys and both nonces, so a replayed or spliced handshake cannot
/// complete. Hello and auth travel in the clear (they hold no patient data); everything after is
/// encrypted. Any failed check sends a refusal with its reason, ends the connection, and throws the
/// same ``SyncError`` on this side.
public enum Handshake {
    /// Protocol versions this build speaks.
    public static let supportedVersions: ClosedRange<UInt16> = 2...3
    /// The first version at which two compatible policy sets (not only equal ones) may sync.
    public static let mixedPoliciesVersion: UInt16 = 3
    /// The longest policy text a peer may send.
    static let maximumPolicyTextBytes = 1 << 20
    static let helloMagic = Array("SFH1".utf8)
    static let authMagic = Array("SFA1".utf8)
    static let refusalMagic = Array("SFX1".utf8)

    /// Which end of the connection this node is.
    public enum Side: Sendable {
        /// The node that connected.
        case client
        /// The node that accepted.
        case server
    }

    /// Runs the handshake and returns the encrypted channel and the peer's certificate.
    public static func perform<Receiver: FrameReceiving>(
        as side: Side, admission: PeerAdmission, version: UInt16 = supportedVersions.upperBound,
        sender: any FrameSending, receiver: inout Receiver
    ) async throws -> SecureChannel<Receiver> {
        let exchange = KeyExchange()
        func hello(_ version: UInt16) -> Hello {
            Hello(
                version: version, policyHash: Array(admission.policyHash.utf8), exchangeKey: exchange.publicKey,
                nonce: Sodium.randomBytes(32), certificate: admission.identity.certificate)
        }
        let ownHello: Hello, peerHello: Hello
        if side == .client {
            // The client offers the highest version it speaks; the server answers with the one both speak.
            ownHello = hello(version)
            try await sender.send(ownHello.encoded)
            // A revoked node may get central's wipe order instead of a hello.
            let wipe = WipeExpectation(own: admission.identity.nodeID, nonce: ownHello.nonce, clusterKey: admission.identity.clusterKey, now: admission.now())
            peerHello = try Hello(decoding: try await receiveFrame(&receiver, wipe: wipe))
            try await check(
                peerHello, admission: admission, versions: supportedVersions.lowerBound...max(version, supportedVersions.lowerBound),
                agreed: min(version, peerHello.version), sender: sender)
        } else {
            peerHello = try await receiveHello(&receiver)
            try await check(
                peerHello, admission: admission, versions: supportedVersions.lowerBound...UInt16.max, agreed: min(peerHello.version, version), sender: sender)
            ownHello = hello(min(peerHello.version, version))
            try await sender.send(ownHello.encoded)
        }
        let agreed = min(ownHello.version, peerHello.version)
        let (clientHello, serverHello) = side == .client ? (ownHello, peerHello) : (peerHello, ownHello)
        let transcript = Sodium.hash([Array("suifang-handshake-v1".utf8), clientHello.encoded, serverHello.encoded])
        let ownLabel: [UInt8] = side == .client ? [UInt8(ascii: "C")] : [UInt8(ascii: "S")]
        let peerLabel: [UInt8] = side == .client ? [UInt8(ascii: "S")] : [UInt8(ascii: "C")]
        let ownAuth = authMagic + admission.identity.key.sign(transcript + ownLabel)
        if side == .client { try await sender.send(ownAuth) }
        let peerAuth = try await receiveFrame(&receiver)
        guard peerAuth.count == 68, Array(peerAuth.prefix(4)) == authMagic,
            SigningKey.verify(Array(peerAuth.dropFirst(4)), of: transcript + peerLabel, by: peerHello.certificate.publicKey)
        else {
            throw await refuse(SyncError(.handshakeFailed, "node '\(peerHello.certificate.name)' did not prove it holds its key"), sender)
        }
        if side == .server { try await sender.send(ownAuth) }

        let keys = try SyncError.checking { () throws(SodiumError) in
            side == .client
                ? try exchange.clientKeys(serverPublicKey: peerHello.exchangeKey)
                : try exchange.serverKeys(clientPublicKey: peerHello.exchangeKey)
        }
        let outgoing = try SyncError.checking { () throws(SodiumError) in try SecretStreamSender(key: keys.transmit) }
        try await sender.send(outgoing.header)
        let header = try await receiveFrame(&receiver)
        let incoming = try SyncError.checking { () throws(SodiumError) in try SecretStreamReceiver(key: keys.receive, header: header) }
        let encryptedSender = EncryptedSender(stream: outgoing, frames: sender)
        var encryptedReceiver = EncryptedReceiver(stream: incoming, frames: receiver)
        let shared =
            peerHello.policyHash == ownHello.policyHash
            ? SharedSchema(whole: admission.policies)
            : try await exchangePolicies(
                admission.policies, peer: peerHello.certificate.name, hash: String(decoding: peerHello.policyHash, as: UTF8.self), encryptedSender,
                &encryptedReceiver)
        return SecureChannel(peer: peerHello.certificate, version: agreed, shared: shared, sender: encryptedSender, receiver: encryptedReceiver)
    }

    /// Protocol 3 on, nodes with different policy sets: each sends its canonical text, and judges
    /// the two compatible or refuses.
    private static func exchangePolicies<Receiver: FrameReceiving>(
        _ own: PolicySet, peer: String, hash: String, _ sender: EncryptedSender, _ receiver: inout EncryptedReceiver<Receiver>
    ) async throws -> SharedSchema {
        try await sender.send(.policies(own.canonicalText))
        guard case .policies(let text)? = try await receiver.next() else {
            throw SyncError(.protocolViolation, "node '\(peer)' did not send its conflict policies")
        }
        do {
            let theirs = try PolicySet(parsing: text, file: "<policies of \(peer)>")
            // The set it signed for in its hello, and no other.
            guard theirs.contentHash == hash else { throw PolicyIncompatibility(table: "-", "the policies sent are not the ones its hello named") }
            return try SharedSchema(own, theirs)
        } catch {
            let refusal = SyncError(.policyMismatch, "node '\(peer)' runs conflict policies this release cannot sync with: \(error)")
            try? await sender.send(.refusal(refusal.code, refusal.message))
            await sender.close()
            throw refusal
        }
    }

    /// - Parameter versions: what the peer's hello may carry: on a server, any version from the
    ///   oldest this node speaks up (a newer client offers its newest, and the server answers with
    ///   its own); on a client, one it speaks and no newer than it offered.
    ///   `agreed` is the version the session will speak: from ``mixedPoliciesVersion`` on, policy
    ///   hashes may differ (the sets are compared once the channel is encrypted).
    private static func check(
        _ hello: Hello, admission: PeerAdmission, versions: ClosedRange<UInt16>, agreed: UInt16, sender: any FrameSending
    ) async throws {
        do {
            guard versions.contains(hello.version) else {
                throw SyncError(
                    .unsupportedVersion, "protocol version \(hello.version) is not supported (this node speaks \(supportedVersions.lowerBound)–\(supportedVersions.upperBound))")
            }
            try hello.certificate.verify(clusterKey: admission.identity.clusterKey, now: admission.now())
            guard hello.certificate.nodeID != admission.identity.nodeID else {
                throw SyncError(.handshakeFailed, "the peer presented this node's own identity")
            }
            guard await !admission.isRevoked(hello.certificate.nodeID) else {
                // Central tells a revoked node, signed and bound to this hello, to wipe itself.
                if admission.identity.certificate.role == .central {
                    try? await sender.send(WipeOrder.sign(to: hello.certificate.nodeID, nonce: hello.nonce, by: admission.identity).encoded)
                }
                throw SyncError(.revoked, "node '\(hello.certificate.name)' has been revoked")
            }
            guard hello.policyHash == Array(admission.policyHash.utf8) || agreed >= mixedPoliciesVersion else {
                throw SyncError(.policyMismatch, "node '\(hello.certificate.name)' loaded different conflict policies")
            }
        } catch let error as SyncError {
            throw await refuse(error, sender)
        }
    }

    /// Sends a refusal (best effort) and returns the error to throw.
    static func refuse(_ error: SyncError, _ sender: any FrameSending) async -> SyncError {
        var writer = BinaryWriter()
        writer.writeByte(error.code.rawValue)
        writer.writeString(error.message)
        try? await sender.send(refusalMagic + writer.bytes)
        return error
    }

    /// What a client checks a wipe order against: itself, its hello's nonce, the pinned cluster key.
    struct WipeExpectation {
        var own: NodeID
        var nonce: [UInt8]
        var clusterKey: [UInt8]
        var now: UInt64
    }

    private static func receiveFrame<Receiver: FrameReceiving>(_ receiver: inout Receiver, wipe: WipeExpectation? = nil) async throws -> [UInt8] {
        guard let frame = try await receiver.next() else {
            throw SyncError(.connectionClosed, "the peer closed the connection during the handshake")
        }
        if let wipe, Array(frame.prefix(4)) == WipeOrder.magic {
            _ = try WipeOrder.verified(frame, to: wipe.own, nonce: wipe.nonce, clusterKey: wipe.clusterKey, now: wipe.now)
            throw SyncError(.wipeOrdered, "central revoked this node and ordered its replica and keys wiped")
        }
        if Array(frame.prefix(4)) == refusalMagic {
            var reader = BinaryReader(Array(frame.dropFirst(4)))
            let code = (try? reader.readByte()).flatMap(SyncError.Code.init(rawValue:)) ?? .refusedByPeer
            let text = (try? reader.readString()) ?? "no reason given"
            throw SyncError(code, "refused by the peer: \(text)")
        }
        return frame
    }

    private static func receiveHello<Receiver: FrameReceiving>(_ receiver: inout Receiver) async throws -> Hello {
        try Hello(decoding: try await receiveFrame(&receiver))
    }
}

/// A hello message.
///
/// ```
/// "SFH1" | version u16le | policyHash (len varint, 64 hex bytes) | kxKey (len varint, 32 bytes)
///        | nonce (len varint, 32 bytes) | certificate (len varint)
/// ```
package struct Hello {
    var version: UInt16
    var policyHash: [UInt8]
    var exchangeKey: [UInt8]
    var nonce: [UInt8]
    var certificate: NodeCertificate

    var encoded: [UInt8] {
        var writer = BinaryWriter()
        for byte in Handshake.helloMagic { writer.writeByte(byte) }
        writer.writeByte(UInt8(truncatingIfNeeded: version))
        writer.writeByte(UInt8(truncatingIfNeeded: version >> 8))
        writer.writeBytes(policyHash)
        writer.writeBytes(exchangeKey)
        writer.writeBytes(nonce)
        writer.writeBytes(certificate.encoded)
        return writer.bytes
    }

    init(version: UInt16, policyHash: [UInt8], exchangeKey: [UInt8], nonce: [UInt8], certificate: NodeCertificate) {
        self.version = version
        self.policyHash = policyHash
        self.exchangeKey = exchangeKey
        self.nonce = nonce
        self.certificate = certificate
    }

    package init(decoding bytes: [UInt8]) throws(SyncError) {
        var reader = BinaryReader(bytes)
        let certificateBytes: [UInt8]
        do throws(MalformedDataError) {
            guard try reader.readFixedBytes(4) == Handshake.helloMagic else { throw MalformedDataError("not a hello") }
            let low = try reader.readByte(), high = try reader.readByte()
            version = UInt16(low) | UInt16(high) << 8
            policyHash = Array(try reader.readBytes())
            exchangeKey = Array(try reader.readBytes())
            nonce = Array(try reader.readBytes())
            certificateBytes = Array(try reader.readBytes())
            guard policyHash.count <= 128, exchangeKey.count == 32, nonce.count == 32, reader.isAtEnd else {
                throw MalformedDataError("field sizes")
            }
        } catch {
            throw SyncError(.handshakeFailed, "a malformed hello: \(error.reason)")
        }
        certificate = try NodeCertificate(decoding: certificateBytes)
    }
}
