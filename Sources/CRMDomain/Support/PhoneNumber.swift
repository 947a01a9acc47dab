import Foundation

/// Phone numbers as stored and looked up: digits only, without the +86 / 0086 country code.
/// `+86 138-0013 8000`, `0086 13800138000` and `138 0013 8000` are all `13800138000`.
public enum PhoneNumber {
    /// The normalised number; nil when the input is not a plausible phone number.
    public static func normalize(_ text: String) -> String? {
        var digits = ""
        for (index, character) in text.enumerated() {
            if character.isASCII, character.isNumber { digits.append(character); continue }
            if character == "+", index == 0 { continue }
            if character == " " || character == "-" || character == "(" || character == ")" || character == "." { continue }
            return nil
        }
        if digits.hasPrefix("0086") { digits.removeFirst(4) } else if digits.hasPrefix("86"), digits.count == 13 { digits.removeFirst(2) }
        guard (5...15).contains(digits.count) else { return nil }
        return digits
    }

    /// The number with its middle digits hidden (`138****8000`), for lists and logs.
    public static func masked(_ normalized: String) -> String {
        guard normalized.count > 7 else { return String(repeating: "*", count: normalized.count) }
        return normalized.prefix(3) + String(repeating: "*", count: normalized.count - 7) + normalized.suffix(4)
    }
}
