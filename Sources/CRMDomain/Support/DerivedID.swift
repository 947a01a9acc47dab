import Sodium

/// Ids derived from what produced a record (a rule, an encounter, a day), so that two nodes
/// producing the same record independently write one row instead of two.
enum DerivedID {
    /// `prefix-` followed by 26 hex digits of BLAKE2b over the parts.
    static func make(_ prefix: String, _ parts: String...) -> String {
        let digest = Sodium.hash([Array(parts.joined(separator: "\u{1F}").utf8)], length: 16)
        let hex = digest.prefix(13).map { String($0, radix: 16).leftPadded(2) }.joined()
        return prefix + "-" + hex
    }
}

extension String {
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
