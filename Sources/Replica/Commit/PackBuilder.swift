/// A pack of an origin's commits compressed before the writer stores them (on ``PreparedRun``'s
/// worker, while the writer merges): stored as it is when the run is appended, if it starts where
/// the origin's packs end then and ends at a commit appended with the same chain hash.
struct PreparedPack: Sendable {
    var firstSeq: UInt64
    var lastSeq: UInt64
    /// The chain hash after its last commit.
    var lastHash: [UInt8]
    /// What `_sf_commit_pack.bodies` holds (``PackBuilder/encode(count:raw:)``).
    var bodies: [UInt8]
}

/// The commits an origin holds loose before a run: where the run's first pack starts.
struct PackLead: Sendable {
    /// The first loose commit's number (the newest packed one's plus one).
    var firstSeq: UInt64
    /// The loose commits' bodies, in order.
    var bodies: [[UInt8]]
}

/// Gathers an origin's consecutive commits into packs as they come, closing a pack where
/// ``CommitStore`` would (``CommitStore/fillsAPack(count:bytes:)``), so the packs it makes are the
/// ones the store would make of the same commits.
struct PackBuilder {
    /// The packs closed so far.
    private(set) var packs: [PreparedPack] = []
    private var firstSeq: UInt64
    private var raw = BinaryWriter(capacity: 16 << 10)
    private var count = 0
    private var bytes = 0

    /// Starts after the origin's packs, with the loose commits it holds; nil when those fill a pack
    /// already (an older release's backlog: the store packs it, not the run).
    init?(after lead: PackLead) {
        firstSeq = lead.firstSeq
        for body in lead.bodies {
            raw.writeBytes(body)
            count += 1
            bytes += body.count
        }
        guard !CommitStore.fillsAPack(count: count, bytes: bytes) else { return nil }
    }

    /// Adds the next commit, closing a pack when it fills one.
    mutating func add(seq: UInt64, hash: [UInt8], body: [UInt8]) {
        raw.writeBytes(body)
        count += 1
        bytes += body.count
        guard CommitStore.fillsAPack(count: count, bytes: bytes) else { return }
        packs.append(PreparedPack(firstSeq: firstSeq, lastSeq: seq, lastHash: hash, bodies: Self.encode(count: count, raw: raw.bytes)))
        firstSeq = seq + 1
        raw = BinaryWriter(capacity: 16 << 10)
        count = 0
        bytes = 0
    }

    /// A pack's stored form: `commitCount varint | rawLength varint | zlib(raw)`, where `raw` is
    /// each body length-prefixed (``BinaryWriter/writeBytes(_:)``).
    static func encode(count: Int, raw: [UInt8]) -> [UInt8] {
        var packed = BinaryWriter(capacity: raw.count / 4 + 16)
        packed.writeVarint(UInt64(count))
        packed.writeVarint(UInt64(raw.count))
        packed.writeBytesRaw(Deflate.compress(raw))
        return packed.bytes
    }
}
