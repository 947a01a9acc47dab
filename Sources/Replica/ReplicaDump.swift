/// A replica's state as text, for comparing replicas (``Replica/canonicalDump()``,
/// ``Replica/scopedDump(for:)``): two dumps are equal when their bytes are, so replicas that
/// hold canonically equivalent but different text (which Swift's `String` equality calls equal)
/// are told apart.
public struct ReplicaDump: Hashable, Sendable, CustomStringConvertible {
    /// The dump, one line per row, tombstone, conflict (and, in ``Replica/canonicalDump()``, the
    /// version vector).
    public let text: String

    init(_ text: String) {
        self.text = text
    }

    /// The dump's lines.
    public var lines: [Substring] { text.split(separator: "\n") }

    public static func == (lhs: ReplicaDump, rhs: ReplicaDump) -> Bool {
        lhs.text.isSameID(as: rhs.text)
    }

    public func hash(into hasher: inout Hasher) {
        ExactText(text).hash(into: &hasher)
    }

    public var description: String { text }
}
