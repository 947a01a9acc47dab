/// The identity of one replica (one node) in the cluster.
///
/// A node id is a random 64-bit number chosen when a node is initialised.
/// It breaks ties between equal clock readings, so it must be unique per node.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The raw 64-bit value.
    public var rawValue: UInt64

    /// Creates a node id from its raw value.
    public init(_ rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// Parses the 16-digit hexadecimal form produced by ``description``.
    public init?(hex: some StringProtocol) {
        guard hex.count == 16, let value = UInt64(hex, radix: 16) else { return nil }
        self.rawValue = value
    }

    /// A fresh random node id.
    public static func random() -> NodeID {
        var generator = SystemRandomNumberGenerator()
        return NodeID(generator.next())
    }

    /// The value as SQLite stores it (an INTEGER is signed).
    var databaseValue: Int64 { Int64(bitPattern: rawValue) }

    init(databaseValue: Int64) {
        self.rawValue = UInt64(bitPattern: databaseValue)
    }

    /// Sixteen lowercase hexadecimal digits.
    public var description: String {
        let digits = String(rawValue, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}
