import Replica
import Sodium

/// A node's identity, signed by the hospital's cluster key.
///
/// ```
/// "SFC2" | nodeID u64le | role u8 | name (len u8, UTF-8) | publicKey[32] | clusterKey[32]
///        | issuedAt u64le ms | expiresAt u64le ms | wardCount u8 | ward (len u8, UTF-8)*
///        | signature[64] (cluster key, over all before it)
/// ```
/// A ward node's certificate names the wards it works for (`suifang enroll --role ward --ward
/// W-CARD-1`, repeatable): it writes ward-owned rows only for them. "SFC1" certificates (before
/// wards) are read with no wards.
public struct NodeCertificate: Hashable, Sendable {
    /// The node's replica id.
    public var nodeID: NodeID
    /// Its role.
    public var role: NodeRole
    /// A human name (`ward-5a`); at most 64 bytes.
    public var name: String
    /// The node's Ed25519 public key.
    public var publicKey: [UInt8]
    /// The cluster's Ed25519 public key that signed this certificate.
    public var clusterKey: [UInt8]
    /// Issue time, milliseconds since 1970.
    public var issuedAt: UInt64
    /// Expiry time, milliseconds since 1970.
    public var expiresAt: UInt64
    /// The wards a ward node works for (empty for central and call centers).
    public var wards: [String]
    /// The cluster key's signature.
    public var signature: [UInt8]

    private static let magic = Array("SFC2".utf8)
    private static let magicBeforeWards = Array("SFC1".utf8)
    /// At most this many wards of at most this many bytes each (a hello, certificate included, fits 4 KiB).
    public static let maximumWards = 32
    public static let maximumWardBytes = 32

    /// Creates a certificate from its fields (``issue(nodeID:role:name:publicKey:by:issuedAt:validFor:)`` signs one).
    public init(
        nodeID: NodeID, role: NodeRole, name: String, publicKey: [UInt8], clusterKey: [UInt8],
        issuedAt: UInt64, expiresAt: UInt64, wards: [String] = [], signature: [UInt8]
    ) {
        self.wards = wards
        self.nodeID = nodeID
        self.role = role
        self.name = name
        self.publicKey = publicKey
        self.clusterKey = clusterKey
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.signature = signature
    }

    /// Issues a certificate signed by the cluster key.
    public static func issue(
        nodeID: NodeID, role: NodeRole, name: String, publicKey: [UInt8], wards: [String] = [],
        by cluster: SigningKey, issuedAt: UInt64, validFor milliseconds: UInt64
    ) throws(SyncError) -> NodeCertificate {
        guard !name.isEmpty, name.utf8.count <= 64 else { throw SyncError(.badCertificate, "a node name is 1 to 64 bytes") }
        guard wards.count <= maximumWards, wards.allSatisfy(isWellFormedWard), Set(wards).count == wards.count else {
            throw SyncError(.badCertificate, "a certificate names at most \(maximumWards) distinct wards of 1 to \(maximumWardBytes) bytes on one line")
        }
        guard role == .ward || wards.isEmpty else { throw SyncError(.badCertificate, "only a ward node's certificate names wards") }
        var certificate = NodeCertificate(
            nodeID: nodeID, role: role, name: name, publicKey: publicKey, clusterKey: cluster.publicKey,
            issuedAt: issuedAt, expiresAt: issuedAt &+ milliseconds, wards: wards, signature: [])
        certificate.signature = cluster.sign(certificate.signedBytes)
        return certificate
    }

    /// The layout this certificate was signed in (an "SFC1" certificate is checked as it was signed).
    private var signedMagic = NodeCertificate.magic

    var signedBytes: [UInt8] {
        var bytes = signedMagic
        appendFixed64(nodeID.rawValue, to: &bytes)
        bytes.append(role.rawValue)
        bytes.append(UInt8(name.utf8.count))
        bytes += Array(name.utf8)
        bytes += publicKey
        bytes += clusterKey
        appendFixed64(issuedAt, to: &bytes)
        appendFixed64(expiresAt, to: &bytes)
        guard signedMagic == Self.magic else { return bytes }
        bytes.append(UInt8(wards.count))
        for ward in wards {
            bytes.append(UInt8(ward.utf8.count))
            bytes += Array(ward.utf8)
        }
        return bytes
    }

    private static func isWellFormedWard(_ ward: String) -> Bool {
        !ward.isEmpty && ward.utf8.count <= maximumWardBytes && !ward.utf8.contains(where: { $0 < 0x20 })
    }

    /// The certificate's bytes.
    public var encoded: [UInt8] { signedBytes + signature }

    /// Decodes a certificate (structure only; ``verify(clusterKey:now:)`` checks it).
    public init(decoding bytes: [UInt8]) throws(SyncError) {
        var reader = BinaryReader(bytes)
        do throws(MalformedDataError) {
            let magic = try reader.readFixedBytes(4)
            guard magic == Self.magic || magic == Self.magicBeforeWards else { throw MalformedDataError("magic") }
            let id = try reader.readFixed64()
            guard let role = NodeRole(rawValue: try reader.readByte()) else { throw MalformedDataError("role") }
            let nameBytes = try reader.readFixedBytes(Int(try reader.readByte()))
            guard let name = String(validating: nameBytes, as: UTF8.self) else { throw MalformedDataError("name") }
            let publicKey = try reader.readFixedBytes(32), clusterKey = try reader.readFixedBytes(32)
            let issuedAt = try reader.readFixed64(), expiresAt = try reader.readFixed64()
            var wards: [String] = []
            if magic == Self.magic {
                let count = Int(try reader.readByte())
                guard count <= Self.maximumWards else { throw MalformedDataError("wards") }
                for _ in 0..<count {
                    let bytes = try reader.readFixedBytes(Int(try reader.readByte()))
                    guard let ward = String(validating: bytes, as: UTF8.self), Self.isWellFormedWard(ward) else { throw MalformedDataError("ward") }
                    wards.append(ward)
                }
            }
            let signature = try reader.readFixedBytes(64)
            guard reader.isAtEnd else { throw MalformedDataError("trailing bytes") }
            self.init(
                nodeID: NodeID(id), role: role, name: name, publicKey: publicKey, clusterKey: clusterKey,
                issuedAt: issuedAt, expiresAt: expiresAt, wards: wards, signature: signature)
            self.signedMagic = magic
        } catch {
            throw SyncError(.badCertificate, "a certificate is malformed")
        }
    }

    /// Whether the cluster with `clusterKey` issued this certificate (valid now or not: a node
    /// re-enrolling after its expiry shows its last one).
    public func isIssued(by clusterKey: [UInt8]) -> Bool {
        self.clusterKey == clusterKey && SigningKey.verify(signature, of: signedBytes, by: clusterKey)
    }

    /// Checks that this certificate belongs to the cluster, is signed by it and is valid at `now`.
    public func verify(clusterKey expected: [UInt8], now: UInt64) throws(SyncError) {
        guard clusterKey == expected else {
            throw SyncError(.wrongCluster, "node '\(name)' belongs to another cluster")
        }
        guard SigningKey.verify(signature, of: signedBytes, by: clusterKey) else {
            throw SyncError(.unknownNode, "node '\(name)' presented a certificate this cluster did not sign")
        }
        guard now >= issuedAt, now < expiresAt else {
            throw SyncError(.expired, "the certificate of node '\(name)' is not valid now (expired or not yet valid)")
        }
    }
}

func appendFixed64(_ value: UInt64, to bytes: inout [UInt8]) {
    for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
}
