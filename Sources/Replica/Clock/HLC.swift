/// A hybrid logical clock reading: 48 bits of physical milliseconds since 1970
/// and a 16-bit logical counter, packed so that integer order is clock order.
///
/// Readings from different nodes can be equal; ``Stamp`` adds the node id
/// that makes the order total.
public struct HLC: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The packed value: `milliseconds << 16 | counter`.
    public var rawValue: UInt64

    /// The zero reading, older than every real one.
    public static let zero = HLC(rawValue: 0)

    /// Creates a reading from its packed value.
    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// Creates a reading from its two parts.
    public init(milliseconds: UInt64, counter: UInt16) {
        self.rawValue = (min(milliseconds, Self.maximumMilliseconds) << 16) | UInt64(counter)
    }

    /// Physical milliseconds since 1970.
    public var milliseconds: UInt64 { rawValue >> 16 }

    /// The logical counter.
    public var counter: UInt16 { UInt16(truncatingIfNeeded: rawValue) }

    /// The latest physical time a reading can hold (the 48 bits of milliseconds, in the year 10889).
    public static let maximumMilliseconds: UInt64 = (1 << 48) - 1

    /// The next reading after this one (the counter may carry into the milliseconds); the
    /// greatest reading is its own successor, never zero.
    public var successor: HLC { rawValue == .max ? self : HLC(rawValue: rawValue + 1) }

    var databaseValue: Int64 { Int64(bitPattern: rawValue) }

    init(databaseValue: Int64) {
        self.rawValue = UInt64(bitPattern: databaseValue)
    }

    public var description: String { "\(milliseconds).\(counter)" }

    public static func < (lhs: HLC, rhs: HLC) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}
