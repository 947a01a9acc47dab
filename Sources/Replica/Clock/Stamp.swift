/// Who wrote a value, when, and in which of the writer's commits.
///
/// `hlc` and `origin` order writes; `seq` is the origin's commit sequence
/// number, which is how a peer's version vector says whether it has the write.
public struct Stamp: Hashable, Sendable, CustomStringConvertible {
    /// The hybrid logical clock reading of the write.
    public var hlc: HLC
    /// The node that wrote it.
    public var origin: NodeID
    /// The origin's commit sequence number (1, 2, 3, …).
    public var seq: UInt64

    /// Creates a stamp.
    public init(hlc: HLC, origin: NodeID, seq: UInt64) {
        self.hlc = hlc
        self.origin = origin
        self.seq = seq
    }

    /// The stamp of "nothing written yet".
    static let zero = Stamp(hlc: .zero, origin: NodeID(0), seq: 0)

    /// Clock order with the node id as tiebreak (`seq` is not part of the order).
    func precedes(_ other: Stamp) -> Bool {
        (hlc, origin) < (other.hlc, other.origin)
    }

    /// A reading for a local write that must supersede a value stamped `existing`:
    /// the later of the fresh tick and just after the existing stamp.
    static func causallyAfter(_ existing: HLC, tick: HLC) -> HLC {
        max(tick, existing.successor)
    }

    public var description: String { "\(origin)#\(seq)@\(hlc)" }
}

/// A (node, clock) pair naming one write inside a multi-value register or a set.
public struct Dot: Hashable, Sendable, Comparable {
    /// The writer.
    public var origin: NodeID
    /// Its clock reading.
    public var hlc: HLC

    public static func < (lhs: Dot, rhs: Dot) -> Bool {
        (lhs.hlc, lhs.origin) < (rhs.hlc, rhs.origin)
    }
}
