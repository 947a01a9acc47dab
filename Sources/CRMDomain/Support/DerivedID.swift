import Foundation
import CSodium

/// Ids derived from what produced a record (a rule, an encounter, a day), so that two nodes
/// producing the same record independently write one row instead of two.
enum DerivedID {
    /// `prefix-` followed by 26 hex digits of BLAKE2b over the parts.
    static func make(_ prefix: String, _ parts: String...) -> String {
        _ = SodiumOnce.ready
        let input = Array(parts.joined(separator: "\u{1F}").utf8)
        var digest = [UInt8](repeating: 0, count: 16)
        _ = crypto_generichash(&digest, 16, input, UInt64(input.count), nil, 0)
        let hex = digest.prefix(13).map { String($0, radix: 16).leftPadded(2) }.joined()
        return prefix + "-" + hex
    }
}

/// Runs `sodium_init` once per process.
enum SodiumOnce {
    static let ready: Bool = sodium_init() >= 0
}

extension String {
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
