extension Set<String> {
    /// Whether the set holds `id` byte for byte, as SQLite compares text. Swift's `String`
    /// equality (and so `contains`) treats canonically equivalent ids as one: ward "W-\u{212A}1"
    /// (a Kelvin sign) would be ward "W-K1". For small sets (a certificate's wards): the bytes are
    /// compared with every member only when an equivalent one is there.
    public func containsExactly(_ id: String) -> Bool {
        contains(id) && contains { $0.utf8.elementsEqual(id.utf8) }
    }
}
