import Replica
import Sodium

/// Everything a node proves itself with: its key, its certificate and the cluster key it trusts.
public struct NodeIdentity: Sendable {
    /// The node's signing key.
    public let key: SigningKey
    /// Its certificate, signed by the cluster key.
    public let certificate: NodeCertificate
    /// The cluster's public key: every peer's certificate must be signed by it.
    public let clusterKey: [UInt8]

    /// Creates an identity, checking that the certificate is for this key and cluster.
    public init(key: SigningKey, certificate: NodeCertificate, clusterKey: [UInt8]) throws(SyncError) {
        guard certificate.publicKey == key.publicKey else { throw SyncError(.badCertificate, "the certificate is for another key") }
        guard certificate.clusterKey == clusterKey else { throw SyncError(.wrongCluster, "the certificate is from another cluster") }
        self.key = key
        self.certificate = certificate
        self.clusterKey = clusterKey
    }

    /// Without the checks: only for tests that impersonate a node.
    init(unchecked key: SigningKey, certificate: NodeCertificate, clusterKey: [UInt8]) {
        self.key = key
        self.certificate = certificate
        self.clusterKey = clusterKey
    }

    /// The node's replica id.
    public var nodeID: NodeID { certificate.nodeID }
}
