/// HL7's escape sequences (`\F\ \S\ \T\ \R\ \E\`, `\Xhh…\`, `\.br\`), decoded after a field has
/// been split, so an escaped delimiter never splits anything.
enum HL7Escaping {
    /// The text of a leaf value. Highlighting (`\H\`, `\N\`) and locally defined escapes (`\Z…\`)
    /// are dropped; an unknown or unterminated sequence is kept as it was written.
    static func unescape(_ raw: ArraySlice<UInt8>, delimiters: HL7Delimiters) -> String {
        guard raw.contains(delimiters.escape) else { return String(decoding: raw, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var index = raw.startIndex
        while index < raw.endIndex {
            let byte = raw[index]
            guard byte == delimiters.escape, let close = raw[(index + 1)...].firstIndex(of: delimiters.escape) else {
                out.append(byte)
                index += 1
                continue
            }
            let name = raw[(index + 1)..<close]
            if let replacement = replacement(for: name, delimiters: delimiters) {
                out += replacement
            } else {
                out += raw[index...close]
            }
            index = close + 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func replacement(for name: ArraySlice<UInt8>, delimiters: HL7Delimiters) -> [UInt8]? {
        switch Array(name) {
        case [0x46]: return [delimiters.field]  // F
        case [0x53]: return [delimiters.component]  // S
        case [0x54]: return [delimiters.subcomponent]  // T
        case [0x52]: return [delimiters.repetition]  // R
        case [0x45]: return [delimiters.escape]  // E
        case [0x48], [0x4E]: return []  // H, N: highlighting on and off
        case Array(".br".utf8): return [0x0A]
        default:
            if name.first == 0x5A { return [] }  // Z…: locally defined, meaningless here
            if name.first == 0x58 { return hexBytes(name.dropFirst()) }  // X…: bytes in hex
            return nil
        }
    }

    /// `\Xhhhh\`: the bytes, when they are an even number of hex digits that form UTF-8.
    private static func hexBytes(_ digits: ArraySlice<UInt8>) -> [UInt8]? {
        guard !digits.isEmpty, digits.count % 2 == 0, digits.count <= 64 else { return nil }
        var bytes: [UInt8] = []
        var index = digits.startIndex
        while index < digits.endIndex {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        guard String(validating: bytes, as: UTF8.self) != nil, !bytes.contains(where: { $0 < 0x20 && $0 != 0x0A }) else { return nil }
        return bytes
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }

    /// Escapes text Suifang writes into a field (error messages in an ACK).
    static func escape(_ text: String, delimiters: HL7Delimiters = .standard) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case Unicode.Scalar(delimiters.escape): out += "\\E\\"
            case Unicode.Scalar(delimiters.field): out += "\\F\\"
            case Unicode.Scalar(delimiters.component): out += "\\S\\"
            case Unicode.Scalar(delimiters.subcomponent): out += "\\T\\"
            case Unicode.Scalar(delimiters.repetition): out += "\\R\\"
            case "\r", "\n": out += " "
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
