// Ids compared as SQLite compares text: byte for byte. Swift's `String` equality (and so `==`,
// `Set.contains` and dictionary lookups) treats canonically equivalent ids as one: ward
// "W-\u{212A}1" (a Kelvin sign) would be ward "W-K1", row "X~W-\u{212A}1" row "X~W-K1".

extension String {
    /// Whether `other` is this id, byte for byte; `false` when it is nil.
    public func isSameID(as other: String?) -> Bool {
        guard let other else { return false }
        return utf8.elementsEqual(other.utf8)
    }
}

extension Set<String> {
    /// Whether the set holds `id` byte for byte. For small sets (a certificate's wards): the bytes
    /// are compared with every member only when an equivalent one is there.
    public func containsExactly(_ id: String) -> Bool {
        contains(id) && contains { $0.isSameID(as: id) }
    }
}
