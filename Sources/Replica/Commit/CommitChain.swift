import Sodium

/// The per-origin hash chain that makes every commit attributable to the node that made it.
///
/// ```
/// hash(0)  = 32 zero bytes
/// hash(n)  = BLAKE2b-256("SFC1" | hash(n-1) | origin u64le | n u64le | body(n))
/// head     = "suifang-head-v1" | origin u64le | n u64le | hash(n)      signed (Ed25519) by the origin
/// ```
/// One signature over a head vouches for every commit up to it, so a 100,000-commit sync costs
/// one verification per batch, not one per commit (Scuttlebutt's feeds, checked in batches).
public enum CommitChain {
    /// The hash before an origin's first commit.
    public static let genesis = [UInt8](repeating: 0, count: 32)

    private static let hashDomain = Array("SFC1".utf8)
    private static let headDomain = Array("suifang-head-v1".utf8)

    /// The hash of commit `seq` of `origin` with `body`, chained to `previous`.
    public static func hash(previous: [UInt8], origin: NodeID, seq: UInt64, body: [UInt8]) -> [UInt8] {
        let hasher = Blake2b256()
        hasher.update(hashDomain)
        hasher.update(previous)
        hasher.update(fixed64: origin.rawValue)
        hasher.update(fixed64: seq)
        hasher.update(body)
        return hasher.finish()
    }

    /// The bytes an origin signs to vouch for its chain up to `seq`.
    public static func headStatement(origin: NodeID, seq: UInt64, hash: [UInt8]) -> [UInt8] {
        var writer = BinaryWriter(capacity: 64)
        writer.writeBytesRaw(headDomain)
        writer.writeFixed64(origin.rawValue)
        writer.writeFixed64(seq)
        writer.writeBytesRaw(hash)
        return writer.bytes
    }

    /// The chain hash after each of `segment`'s commits, chained from its `previousHash`.
    public static func hashes(of segment: ChainSegment) -> [[UInt8]] {
        var hash = segment.previousHash
        var hashes: [[UInt8]] = []
        hashes.reserveCapacity(segment.bodies.count)
        for (offset, body) in segment.bodies.enumerated() {
            hash = CommitChain.hash(previous: hash, origin: segment.origin, seq: segment.firstSeq + UInt64(offset), body: body)
            hashes.append(hash)
        }
        return hashes
    }

    /// Whether `segment`'s signature vouches for the head whose chain hash is `last` (the hash
    /// after its last commit).
    public static func signatureHolds(_ segment: ChainSegment, last: [UInt8], publicKey: [UInt8]) -> Bool {
        SigningKey.verify(segment.signature, of: headStatement(origin: segment.origin, seq: segment.lastSeq, hash: last), by: publicKey)
    }

    /// Checks a segment on its own: its commits, chained from its `previousHash`, end at the head
    /// its signature vouches for.
    /// - Returns: the chain hash after each of its commits, or nil when the signature does not verify.
    /// - Complexity: one BLAKE2b pass over the bodies and one Ed25519 verification.
    public static func verify(_ segment: ChainSegment, publicKey: [UInt8]) -> [[UInt8]]? {
        let chain = hashes(of: segment)
        return signatureHolds(segment, last: chain.last ?? segment.previousHash, publicKey: publicKey) ? chain : nil
    }
}
