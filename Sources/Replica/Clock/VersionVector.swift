/// A replica's summary: for each origin, the highest commit sequence number
/// up to which the replica holds every change (or a change that supersedes it).
public struct VersionVector: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Highest contiguous sequence number per origin; a missing origin means 0.
    public private(set) var entries: [NodeID: UInt64]

    /// An empty vector: holds nothing.
    public init() {
        self.entries = [:]
    }

    /// Creates a vector from its entries (zero entries are dropped).
    public init(_ entries: [NodeID: UInt64]) {
        self.entries = entries.filter { $0.value > 0 }
    }

    /// The sequence number held for `origin` (0 when none).
    public subscript(origin: NodeID) -> UInt64 {
        get { entries[origin] ?? 0 }
        set { entries[origin] = newValue == 0 ? nil : newValue }
    }

    /// Raises each entry to the other vector's when it is higher.
    public mutating func merge(_ other: VersionVector) {
        for (origin, seq) in other.entries where seq > self[origin] {
            self[origin] = seq
        }
    }

    /// This vector merged with another.
    public func merging(_ other: VersionVector) -> VersionVector {
        var copy = self
        copy.merge(other)
        return copy
    }

    /// Whether this vector holds everything `other` holds.
    public func dominates(_ other: VersionVector) -> Bool {
        other.entries.allSatisfy { self[$0.key] >= $0.value }
    }

    /// Commits this vector holds that `other` lacks, summed over origins (saturating: a peer's
    /// vector is whatever it claimed).
    public func commitsAhead(of other: VersionVector) -> UInt64 {
        entries.reduce(0) { sum, entry in
            entry.value > other[entry.key] ? sum.saturatingAdding(entry.value - other[entry.key]) : sum
        }
    }

    /// Origins sorted by id, with their sequence numbers.
    public var sorted: [(origin: NodeID, seq: UInt64)] {
        entries.sorted { $0.key < $1.key }.map { (origin: $0.key, seq: $0.value) }
    }

    /// Total number of commits the vector covers (saturating: a peer's vector may hold any numbers).
    public var total: UInt64 {
        entries.values.reduce(0) { $0.saturatingAdding($1) }
    }

    public var description: String {
        "{" + sorted.map { "\($0.origin):\($0.seq)" }.joined(separator: ", ") + "}"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Dictionary(uniqueKeysWithValues: entries.map { ($0.key.description, $0.value) }))
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode([String: UInt64].self)
        var entries: [NodeID: UInt64] = [:]
        for (key, value) in raw {
            guard let id = NodeID(hex: key) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad node id in version vector"))
            }
            entries[id] = value
        }
        self.init(entries)
    }
}

extension UInt64 {
    /// The sum, or `UInt64.max` when it would overflow (for counts derived from what peers claim).
    public func saturatingAdding(_ other: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}

extension BinaryWriter {
    /// `count varint | (origin u64le | seq varint)*`, origins in order.
    public mutating func writeVector(_ vector: VersionVector) {
        let entries = vector.sorted
        writeVarint(UInt64(entries.count))
        for entry in entries {
            writeFixed64(entry.origin.rawValue)
            writeVarint(entry.seq)
        }
    }
}

extension BinaryReader {
    /// What ``BinaryWriter/writeVector(_:)`` wrote; at most 100,000 entries, each sequence number
    /// one an SQLite integer can hold (a larger claim is not a vector any node could hold).
    public mutating func readVector() throws(MalformedDataError) -> VersionVector {
        let count = try readCount(limit: min(remaining / 9, 100_000))
        var entries: [NodeID: UInt64] = [:]
        for _ in 0..<count {
            let origin = NodeID(try readFixed64())
            let seq = try readVarint()
            guard seq <= ChangeBatch.maximumSeq else { throw MalformedDataError("a sequence number beyond 2^63-1") }
            entries[origin] = seq
        }
        return VersionVector(entries)
    }
}
