/// A run of one origin's consecutive commits, vouched for by the origin's signature over the
/// chain head at its last commit (see ``CommitChain``). Relays forward it untouched.
public struct ChainSegment: Hashable, Sendable {
    /// The node that made the commits.
    public var origin: NodeID
    /// The origin's credential (its certificate), so a receiver that never met it can check it.
    public var credential: [UInt8]
    /// The sequence number of the first commit.
    public var firstSeq: UInt64
    /// The chain hash of the commit before the first (``CommitChain/genesis`` before commit 1): with
    /// it a receiver checks the signature on its own, and tells an origin that signed two histories
    /// (its fault) from a sender that altered one (the sender's).
    public var previousHash: [UInt8]
    /// The commits' bodies, numbered from `firstSeq` on.
    public var bodies: [[UInt8]]
    /// The origin's Ed25519 signature of ``CommitChain/headStatement(origin:seq:hash:)`` at ``lastSeq``.
    public var signature: [UInt8]

    /// Creates a segment.
    public init(origin: NodeID, credential: [UInt8], firstSeq: UInt64, previousHash: [UInt8], bodies: [[UInt8]], signature: [UInt8]) {
        self.origin = origin
        self.credential = credential
        self.firstSeq = firstSeq
        self.previousHash = previousHash
        self.bodies = bodies
        self.signature = signature
    }

    /// The sequence number of the last commit.
    public var lastSeq: UInt64 { firstSeq + UInt64(bodies.count) - 1 }

    /// Row changes in the segment's commits.
    public var changeCount: Int { bodies.reduce(0) { $0 + CommitCodec.changeCount($1) } }
}

/// Commits sent in one unit and applied in one transaction.
public struct ChangeBatch: Hashable, Sendable {
    /// Per origin, a run of consecutive signed commits.
    public var segments: [ChainSegment]

    /// Creates a batch.
    public init(segments: [ChainSegment] = []) {
        self.segments = segments
    }

    /// Whether the batch carries no commit.
    public var isEmpty: Bool { segments.isEmpty }

    /// Row changes in the batch.
    public var changeCount: Int { segments.reduce(0) { $0 + $1.changeCount } }

    /// Commits in the batch.
    public var commitCount: Int { segments.reduce(0) { $0 + $1.bodies.count } }
}

/// Where a paged ``Replica/changes(since:after:maxChanges:maxBytes:)`` stopped.
public struct ChangeCursor: Hashable, Sendable {
    /// The origin being sent when the page was cut.
    public var origin: NodeID
    /// How far the pages so far covered that origin.
    public var covered: UInt64
}
