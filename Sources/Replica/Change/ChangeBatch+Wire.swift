/// The binary encoding of a change batch, the payload of a sync frame.
///
/// ```
/// "SFB2"
/// segmentCount varint | segment*
/// segment = origin u64le | credential bytes | firstSeq varint | previousHash[32] | commitCount varint
///           | body bytes * commitCount | signature[64]
/// bytes   = length varint | raw bytes
/// ```
/// A body is a commit as ``CommitCodec`` lays it out. Decoding checks every count and length
/// against ``ChangeBatch/Limits`` and the bytes that remain before it allocates anything;
/// sequence numbers stay below 2^63; an origin has at most one segment per batch; a commit
/// changes at least one row, so commits count against the change limit.
extension ChangeBatch {
    /// Bounds for decoding untrusted bytes.
    public struct Limits: Hashable, Sendable {
        /// Most row changes in one batch (and so in one commit: a commit is never split).
        public var maxChanges: Int
        /// Most bytes of one credential.
        public var maxCredentialBytes: Int

        /// Creates limits.
        public init(maxChanges: Int = 100_000, maxCredentialBytes: Int = 4096) {
            self.maxChanges = maxChanges
            self.maxCredentialBytes = maxCredentialBytes
        }
    }

    private static let magic: [UInt8] = Array("SFB2".utf8)
    /// The largest sequence number a batch may carry (sequence numbers are stored as SQLite integers).
    public static let maximumSeq = UInt64(Int64.max)

    /// The batch's bytes.
    public func encoded() -> [UInt8] {
        var writer = BinaryWriter(capacity: 64 + segments.reduce(0) { $0 + 128 + $1.bodies.reduce(0) { $0 + $1.count + 4 } })
        writer.writeBytesRaw(Self.magic)
        writer.writeVarint(UInt64(segments.count))
        for segment in segments {
            writer.writeFixed64(segment.origin.rawValue)
            writer.writeBytes(segment.credential)
            writer.writeVarint(segment.firstSeq)
            writer.writeBytesRaw(segment.previousHash)
            writer.writeVarint(UInt64(segment.bodies.count))
            for body in segment.bodies { writer.writeBytes(body) }
            writer.writeBytesRaw(segment.signature)
        }
        return writer.bytes
    }

    /// Decodes bytes produced by ``encoded()``.
    /// - Throws: ``MalformedDataError`` for anything malformed or over the limits.
    public init(decoding bytes: [UInt8], limits: Limits = Limits()) throws(MalformedDataError) {
        var reader = BinaryReader(bytes)
        for byte in Self.magic where try reader.readByte() != byte {
            throw MalformedDataError("not a change batch")
        }
        let segmentCount = try reader.readCount(limit: min(reader.remaining / 108, 4096))
        var segments: [ChainSegment] = []
        segments.reserveCapacity(segmentCount)
        var changes = 0
        var origins: Set<NodeID> = []
        for _ in 0..<segmentCount {
            let origin = NodeID(try reader.readFixed64())
            guard origins.insert(origin).inserted else { throw MalformedDataError("two segments of one origin") }
            let credential = try reader.readBytes()
            guard credential.count <= limits.maxCredentialBytes else { throw MalformedDataError("credential over the limit") }
            let firstSeq = try reader.readVarint()
            let previousHash = try reader.readFixedBytes(32)
            let count = try reader.readCount(limit: min(reader.remaining, limits.maxChanges))
            guard count > 0 else { throw MalformedDataError("a segment without commits") }
            guard firstSeq >= 1, firstSeq <= Self.maximumSeq - UInt64(count) + 1 else {
                throw MalformedDataError("sequence numbers out of range")
            }
            var bodies: [[UInt8]] = []
            bodies.reserveCapacity(count)
            for _ in 0..<count {
                let body = Array(try reader.readBytes())
                let bodyChanges = CommitCodec.changeCount(body)
                guard bodyChanges > 0 else { throw MalformedDataError("an empty commit") }
                changes += bodyChanges
                guard changes <= limits.maxChanges else { throw MalformedDataError("more than \(limits.maxChanges) changes") }
                bodies.append(body)
            }
            let signature = try reader.readFixedBytes(64)
            segments.append(
                ChainSegment(
                    origin: origin, credential: Array(credential), firstSeq: firstSeq, previousHash: previousHash,
                    bodies: bodies, signature: signature))
        }
        guard reader.isAtEnd else { throw MalformedDataError("trailing bytes after the batch") }
        self.init(segments: segments)
    }
}
