import Replica
import Sodium

/// The node binary's ``CommitAuthority``: this node signs its chain with its own key, and any
/// origin is identified by its certificate, checked against the cluster key.
///
/// Commits are checked against the certificate their origin made them under: an expired
/// certificate still vouches for what was signed while it was valid (the handshake refuses the
/// expired node itself); a revoked origin is refused by the replica's revocation table.
public struct CertificateTrust: CommitAuthority {
    private let node: NodeIdentity

    /// The trust of the node with this identity.
    public init(identity: NodeIdentity) {
        self.node = identity
    }

    public var identity: OriginIdentity {
        OriginIdentity(nodeID: node.nodeID, role: node.certificate.role, publicKey: node.key.publicKey, wards: Set(node.certificate.wards))
    }

    public var credential: [UInt8] { node.certificate.encoded }

    public func sign(_ statement: [UInt8]) -> [UInt8] {
        node.key.sign(statement)
    }

    public func identify(origin: NodeID, credential: [UInt8]) throws(TrustError) -> OriginIdentity {
        let certificate: NodeCertificate
        do {
            certificate = try NodeCertificate(decoding: credential)
        } catch {
            throw TrustError("node \(origin) sent no valid certificate")
        }
        guard certificate.nodeID == origin else {
            throw TrustError("node \(origin) sent the certificate of node \(certificate.nodeID)")
        }
        guard certificate.clusterKey == node.clusterKey,
            SigningKey.verify(certificate.signature, of: certificate.signedBytes, by: node.clusterKey)
        else {
            throw TrustError("node \(origin) sent a certificate this cluster did not sign")
        }
        return OriginIdentity(nodeID: origin, role: certificate.role, publicKey: certificate.publicKey, wards: Set(certificate.wards))
    }
}
