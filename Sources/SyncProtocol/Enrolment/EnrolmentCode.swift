import Sodium

/// A one-time enrolment code: 16 characters of Crockford's base32 (80 random bits), shown in groups
/// of four (`K7QF-M2XA-9PZD-4HRT`), typed on the new node. It never travels: both ends derive a
/// key from it, which authenticates the node's request to central and central's answer to the node
/// (so the node pins the cluster key from that answer, and a stranger who sees the exchange learns
/// nothing that opens another).
public enum EnrolmentCode {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    /// Characters in a code.
    public static let length = 16

    /// A fresh code, grouped for reading aloud.
    public static func random() -> String {
        let bytes = Sodium.randomBytes(10)
        var value: [Character] = []
        var accumulator = 0, bits = 0
        for byte in bytes {
            accumulator = accumulator << 8 | Int(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                value.append(alphabet[(accumulator >> bits) & 31])
            }
        }
        return stride(from: 0, to: length, by: 4).map { String(value[$0..<$0 + 4]) }.joined(separator: "-")
    }

    /// The code as typed, normalised (case, separators, and the letters people mistake for digits),
    /// or nil when it is not a code.
    public static func normalized(_ typed: String) -> String? {
        var result = ""
        for character in typed.uppercased() where character != "-" && character != " " {
            let mapped: Character =
                switch character {
                case "O": "0"
                case "I", "L": "1"
                default: character
                }
            guard alphabet.contains(mapped) else { return nil }
            result.append(mapped)
        }
        return result.count == length ? result : nil
    }

    /// The key both ends derive from a normalised code.
    public static func key(_ normalized: String) -> [UInt8] {
        Sodium.hash([Array("suifang enrolment code v1".utf8), Array(normalized.utf8)])
    }

    /// Bytes in a code's identifier.
    public static let identifierLength = 16

    /// Which code a request redeems: derived apart from the key, so knowing one gives nothing of the other.
    public static func identifier(_ normalized: String) -> [UInt8] {
        Sodium.hash([Array("suifang enrolment code id v1".utf8), Array(normalized.utf8)], length: identifierLength)
    }
}
