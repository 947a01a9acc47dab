import Foundation

// Ids compared as SQLite compares text: byte for byte. Swift's `String` equality (and so `==`,
// `Set.contains` and dictionary lookups) treats canonically equivalent ids as one: ward
// "W-\u{212A}1" (a Kelvin sign) would be ward "W-K1", row "X~W-\u{212A}1" row "X~W-K1".

extension String {
    /// Whether `other` is this id, byte for byte; `false` when it is nil.
    public func isSameID(as other: String?) -> Bool {
        guard var other else { return false }
        var this = self
        return this.withUTF8 { mine in
            other.withUTF8 { theirs in
                mine.count == theirs.count && (mine.isEmpty || memcmp(mine.baseAddress!, theirs.baseAddress!, mine.count) == 0)
            }
        }
    }
}

extension Set<String> {
    /// Whether the set holds `id` byte for byte. For small sets (a certificate's wards): the bytes
    /// are compared with every member only when an equivalent one is there.
    public func containsExactly(_ id: String) -> Bool {
        contains(id) && contains { $0.isSameID(as: id) }
    }
}

/// Text that is equal, hashed and ordered by its UTF-8 bytes: a key for sets and dictionaries
/// that must keep canonically equivalent spellings apart (an add-wins set's elements: "é" typed
/// on one tablet and "e\u{301}" on another are two elements on every replica, in the same order,
/// not one whose spelling depends on which arrived first).
public struct ExactText: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The text.
    public let text: String

    public init(_ text: String) {
        self.text = text
    }

    public static func == (lhs: ExactText, rhs: ExactText) -> Bool {
        lhs.text.isSameID(as: rhs.text)
    }

    public func hash(into hasher: inout Hasher) {
        var text = text
        text.withUTF8 { bytes in
            hasher.combine(bytes.count)
            hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        }
    }

    /// Byte order: the order SQLite sorts text in, the same on every node and every Swift version.
    public static func < (lhs: ExactText, rhs: ExactText) -> Bool {
        lhs.text.utf8.lexicographicallyPrecedes(rhs.text.utf8)
    }

    public var description: String { text }
}

extension Sequence<String> {
    /// The texts without repeats, byte for byte (canonically equivalent spellings are kept).
    func uniqueExactly() -> Set<ExactText> {
        Set(map(ExactText.init))
    }
}
