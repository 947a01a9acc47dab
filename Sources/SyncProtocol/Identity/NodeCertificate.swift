import Replica

/// A node's identity, signed by the hospital's cluster key.
///
/// ```
/// "SFC1" | nodeID u64le | role u8 | name (len u8, UTF-8) | publicKey[32] | clusterKey[32]
///        | issuedAt u64le ms | expiresAt u64le ms | signature[64] (cluster key, over all before it)
/// ```
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
    /// The cluster key's signature.
    public var signature: [UInt8]

    private static let magic = Array("SFC1".utf8)

    /// Creates a certificate from its fields (``issue(nodeID:role:name:publicKey:by:issuedAt:validFor:)`` signs one).
    public init(nodeID: NodeID, role: NodeRole, name: String, publicKey: [UInt8], clusterKey: [UInt8],
                issuedAt: UInt64, expiresAt: UInt64, signature: [UInt8]) {
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
    public static func issue(nodeID: NodeID, role: NodeRole, name: String, publicKey: [UInt8],
                             by cluster: SigningKey, issuedAt: UInt64, validFor milliseconds: UInt64) throws(SyncError) -> NodeCertificate {
        guard !name.isEmpty, name.utf8.count <= 64 else { throw SyncError(.badCertificate, "a node name is 1 to 64 bytes") }
        var certificate = NodeCertificate(nodeID: nodeID, role: role, name: name, publicKey: publicKey, clusterKey: cluster.publicKey,
                                          issuedAt: issuedAt, expiresAt: issuedAt + milliseconds, signature: [])
        certificate.signature = cluster.sign(certificate.signedBytes)
        return certificate
    }

    var signedBytes: [UInt8] {
        var bytes = Self.magic
        appendFixed64(nodeID.rawValue, to: &bytes)
        bytes.append(role.rawValue)
        bytes.append(UInt8(name.utf8.count))
        bytes += Array(name.utf8)
        bytes += publicKey
        bytes += clusterKey
        appendFixed64(issuedAt, to: &bytes)
        appendFixed64(expiresAt, to: &bytes)
        return bytes
    }

    /// The certificate's bytes.
    public var encoded: [UInt8] { signedBytes + signature }

    /// Decodes a certificate (structure only; ``verify(clusterKey:now:)`` checks it).
    public init(decoding bytes: [UInt8]) throws(SyncError) {
        var reader = BinaryReader(bytes)
        do throws(MalformedDataError) {
            guard try reader.readFixedBytes(4) == Self.magic else { throw MalformedDataError("magic") }
            let id = try reader.readFixed64()
            guard let role = NodeRole(rawValue: try reader.readByte()) else { throw MalformedDataError("role") }
            let nameBytes = try reader.readFixedBytes(Int(try reader.readByte()))
            guard let name = String(validating: nameBytes, as: UTF8.self) else { throw MalformedDataError("name") }
            let publicKey = try reader.readFixedBytes(32), clusterKey = try reader.readFixedBytes(32)
            let issuedAt = try reader.readFixed64(), expiresAt = try reader.readFixed64()
            let signature = try reader.readFixedBytes(64)
            guard reader.isAtEnd else { throw MalformedDataError("trailing bytes") }
            self.init(nodeID: NodeID(id), role: role, name: name, publicKey: publicKey, clusterKey: clusterKey,
                      issuedAt: issuedAt, expiresAt: expiresAt, signature: signature)
        } catch {
            throw SyncError(.badCertificate, "a certificate is malformed")
        }
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
