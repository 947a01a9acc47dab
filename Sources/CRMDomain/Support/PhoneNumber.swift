import Foundation

/// Phone numbers as stored and looked up: digits only, without the +86 / 0086 country code.
/// `+86 138-0013 8000`, `0086 13800138000` and `138 0013 8000` are all `13800138000`.
public enum PhoneNumber {
    /// The normalised number; nil when the input is not a plausible phone number.
    ///
    /// Numbers as people type them and as phone systems send them all find the same archive:
    /// spaces, dashes, dots and brackets are dropped; an extension after `,` or `#` is cut off;
    /// `+86`, `0086` (and `86` before a mobile number) are removed; a mobile number dialled with the
    /// trunk prefix (`013800138000`) loses the `0`; a landline given internationally
    /// (`+86 10 1234 5678`) gets its national `0` back (`01012345678`).
    public static func normalize(_ text: String) -> String? {
        let number = text.prefix { $0 != "," && $0 != "#" }
        var digits = "", international = false
        for (index, character) in number.enumerated() {
            if character.isASCII, character.isNumber { digits.append(character); continue }
            if character == "+", index == 0 { international = true; continue }
            if character == " " || character == "-" || character == "(" || character == ")" || character == "." { continue }
            return nil
        }
        if digits.hasPrefix("0086") {
            digits.removeFirst(4)
            international = true
        } else if international {
            guard digits.hasPrefix("86") else { return (5...15).contains(digits.count) ? digits : nil }  // another country, as given
            digits.removeFirst(2)
        } else if digits.hasPrefix("86"), digits.count == 13, isMobile(String(digits.dropFirst(2))) {
            digits.removeFirst(2)
        }
        if international, !isMobile(digits), !digits.hasPrefix("0") {
            digits = "0" + digits  // a landline's area code takes its trunk 0 at home
        } else if !international, digits.count == 12, digits.hasPrefix("0"), isMobile(String(digits.dropFirst())) {
            digits.removeFirst()  // a mobile dialled with the trunk prefix
        }
        guard (5...15).contains(digits.count) else { return nil }
        return digits
    }

    /// A mainland mobile number: 11 digits, `1[3-9]…`.
    static func isMobile(_ digits: String) -> Bool {
        guard digits.count == 11, digits.hasPrefix("1"), let second = digits.dropFirst().first else { return false }
        return ("3"..."9").contains(second)
    }

    /// The number with its middle digits hidden (`138****8000`), for lists and logs.
    public static func masked(_ normalized: String) -> String {
        guard normalized.count > 7 else { return String(repeating: "*", count: normalized.count) }
        return normalized.prefix(3) + String(repeating: "*", count: normalized.count - 7) + normalized.suffix(4)
    }
}
