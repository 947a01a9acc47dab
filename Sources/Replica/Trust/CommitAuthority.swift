import Sodium

/// Who an origin is, as its verified credential says.
public struct OriginIdentity: Hashable, Sendable {
    /// The origin's node id.
    public var nodeID: NodeID
    /// What the origin may write (`write` lines in the conflict policies).
    public var role: NodeRole
    /// The Ed25519 key that signs the origin's chain heads.
    public var publicKey: [UInt8]
    /// The wards a ward node works for: it writes rows of `owned-by` tables only for them.
    public var wards: Set<String>

    /// Creates an identity.
    public init(nodeID: NodeID, role: NodeRole, publicKey: [UInt8], wards: Set<String> = []) {
        self.nodeID = nodeID
        self.role = role
        self.publicKey = publicKey
        self.wards = wards
    }

    /// Whether this node may write a row of an `owned-by` table whose owning ward is `ward`:
    /// central and call centers may; a ward node only for the wards its credential names, byte for byte.
    public func mayWrite(forWard ward: String?) -> Bool {
        guard role == .ward else { return true }
        guard let ward else { return false }
        return wards.containsExactly(ward)
    }
}

/// Signs this node's commit chain and tells who other origins are.
///
/// Every commit a replica makes joins its origin's hash chain; the origin signs chain heads
/// (``CommitChain/headStatement(origin:seq:hash:)``) with its key. A receiver checks the chain
/// and the signature before it applies anything, so no node — relay or not — can speak for another.
/// The node binary implements this with cluster-signed certificates (`CertificateTrust`);
/// ``SharedSecretTrust`` serves tests and single-process tools.
public protocol CommitAuthority: Sendable {
    /// This node's identity (its role decides what it may write locally).
    var identity: OriginIdentity { get }
    /// The bytes that let any node learn ``identity`` (a certificate); sent with this node's commits.
    var credential: [UInt8] { get }
    /// A detached Ed25519 signature by this node's key.
    func sign(_ statement: [UInt8]) -> [UInt8]
    /// Checks a credential received with commits of `origin` and returns who the origin is.
    /// - Throws: ``TrustError`` when the credential is not valid for `origin` in this cluster.
    func identify(origin: NodeID, credential: [UInt8]) throws(TrustError) -> OriginIdentity
}

/// A credential or signature that does not check out. Names nodes, never data.
public struct TrustError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Why.
    public let message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// Keys derived from one shared secret: node `n`'s key pair is seeded with BLAKE2b(secret ‖ n).
///
/// Anyone holding the secret can sign for every node, so this is **not** for deployments: it is
/// for tests, benchmarks and single-process tools (the demo loader), where every replica lives in
/// one trust domain anyway. Credentials are empty; roles come from the table given here.
public struct SharedSecretTrust: CommitAuthority {
    private let secret: [UInt8]
    private let roles: [NodeID: NodeRole]
    private let wards: [NodeID: Set<String>]
    private let defaultRole: NodeRole
    private let key: SigningKey
    public let identity: OriginIdentity

    /// Creates the trust of node `nodeID`.
    /// - Parameters:
    ///   - secret: the shared secret.
    ///   - nodeID: this node.
    ///   - roles: roles of nodes that are not `defaultRole`.
    ///   - defaultRole: the role of every other node.
    ///   - wards: the wards of ward nodes.
    public init(
        secret: [UInt8] = Array("suifang-shared-secret-trust".utf8), nodeID: NodeID,
        roles: [NodeID: NodeRole] = [:], defaultRole: NodeRole = .central, wards: [NodeID: Set<String>] = [:]
    ) {
        self.secret = secret
        self.roles = roles
        self.wards = wards
        self.defaultRole = defaultRole
        self.key = Self.key(secret, nodeID)
        self.identity = OriginIdentity(nodeID: nodeID, role: roles[nodeID] ?? defaultRole, publicKey: key.publicKey, wards: wards[nodeID] ?? [])
    }

    public var credential: [UInt8] { [] }

    public func sign(_ statement: [UInt8]) -> [UInt8] {
        key.sign(statement)
    }

    public func identify(origin: NodeID, credential: [UInt8]) throws(TrustError) -> OriginIdentity {
        OriginIdentity(nodeID: origin, role: roles[origin] ?? defaultRole, publicKey: Self.key(secret, origin).publicKey, wards: wards[origin] ?? [])
    }

    private static func key(_ secret: [UInt8], _ node: NodeID) -> SigningKey {
        let hasher = Blake2b256()
        hasher.update(secret)
        hasher.update(fixed64: node.rawValue)
        // A 32-byte seed always makes a key.
        return try! SigningKey(seed: hasher.finish())
    }
}
