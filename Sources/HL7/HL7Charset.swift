/// The character sets a message may declare in MSH-18, and the conversion of its bytes to UTF-8.
///
/// A message is converted whole before it is split: a GBK character's second byte can be `|`,
/// `^`, `~` or `\`. What does not decode as declared is refused (AR), never turned into garbled names.
public enum HL7Charset: String, Sendable {
    case ascii = "ASCII"
    case utf8 = "UNICODE UTF-8"
    case gb18030 = "GB 18030-2000"

    /// The MSH-18 values (HL7 table 0211 and what engines really write) each set answers to.
    static func named(_ value: String) -> HL7Charset? {
        let name = String(value.uppercased().filter { $0 != " " }.map { $0 == "_" ? "-" : $0 })
        return switch name {
        case "ASCII", "8859/1", "ISO-8859-1", "ISO-IR6": .ascii
        case "UNICODEUTF-8", "UTF-8", "UTF8": .utf8
        case "GB18030-2000", "GB18030", "GB18030-2005", "GBK", "GB2312", "GB-2312", "CP936": .gb18030
        default: nil
        }
    }

    /// The message's text as UTF-8, with the character set it was read in.
    /// A message that declares none is read as UTF-8 if it is valid UTF-8 (ASCII is).
    /// - Throws: ``HL7Error`` (`102`) for an unknown set, or bytes that are not in the declared one.
    public static func decode(_ bytes: [UInt8]) throws(HL7Error) -> (utf8: [UInt8], charset: HL7Charset) {
        let declaredName = HL7RawHeader(bytes).field(18)
        let declared: HL7Charset?
        if let declaredName, !declaredName.isEmpty {
            guard let known = named(declaredName) else {
                throw HL7Error(.dataType, "MSH-18 names a character set Suifang does not read; send UNICODE UTF-8 or GB 18030-2000", at: "MSH^18")
            }
            declared = known
        } else {
            declared = nil
        }
        let isASCII = bytes.allSatisfy { $0 < 0x80 }
        if isASCII { return (bytes, declared ?? .ascii) }
        switch declared {
        case .ascii:
            throw HL7Error(.dataType, "MSH-18 declares ASCII but the message holds other characters", at: "MSH^18")
        case .utf8, nil:
            guard String(validating: bytes, as: UTF8.self) != nil else {
                throw HL7Error(
                    .dataType,
                    declared == nil
                        ? "the message is not UTF-8 and MSH-18 declares no character set; declare GB 18030-2000 or send UTF-8"
                        : "MSH-18 declares UNICODE UTF-8 but the message is not valid UTF-8", at: "MSH^18")
            }
            return (bytes, .utf8)
        case .gb18030:
            // Chinese text that is valid UTF-8 is almost never meant as GB18030: refuse the ambiguity.
            guard String(validating: bytes, as: UTF8.self) == nil else {
                throw HL7Error(.dataType, "MSH-18 declares GB 18030 but the message reads as UTF-8; declare UNICODE UTF-8", at: "MSH^18")
            }
            guard let text = GB18030.decode(bytes) else {
                throw HL7Error(.dataType, "MSH-18 declares GB 18030 but the message is not valid GB 18030", at: "MSH^18")
            }
            return (Array(text.utf8), .gb18030)
        }
    }
}

/// The MSH fields read straight from a message's first bytes, before and whatever its decoding:
/// enough to find its character set and to acknowledge it when it cannot be parsed. Values are
/// reduced to printable ASCII without delimiters, so echoing them is safe. The MSH line is kept
/// (at most 4 KiB) and a field is cut out only when asked for: a busy feed reads two or three.
public struct HL7RawHeader: Sendable {
    /// The MSH line, empty when the message does not start with one.
    private let line: [UInt8]
    private let separator: UInt8
    private let component: UInt8
    private let repetition: UInt8

    public init(_ bytes: some Collection<UInt8>) {
        let line = Array(bytes.prefix(4_096).prefix { $0 != 0x0D && $0 != 0x0A })
        guard line.count > 8, line.starts(with: Array("MSH".utf8)) else {
            (self.line, separator, component, repetition) = ([], 0, 0, 0)
            return
        }
        (self.line, separator, component, repetition) = (line, line[3], line[4], line[5])
    }

    /// The raw bytes of MSH-`number` (MSH-1 is the separator itself, so MSH-2 is the first split field).
    private func raw(_ number: Int) -> ArraySlice<UInt8>? {
        guard !line.isEmpty, number >= 2 else { return nil }
        var field = 1
        var start = 4  // just after "MSH" and the separator
        var index = start
        while index <= line.count {
            if index == line.count || line[index] == separator {
                field += 1
                if field == number { return line[start..<index] }
                start = index + 1
            }
            index += 1
        }
        return nil
    }

    /// MSH-`number`, sanitised; nil when absent.
    public func field(_ number: Int) -> String? {
        guard let raw = raw(number) else { return nil }
        // The first repetition's first component (MSH-18 repeats; MSH-9 has components); MSH-2 (the
        // encoding characters) is kept whole.
        let first = number == 2 ? raw : raw.prefix { $0 != repetition }
        var kept: [UInt8] = []
        kept.reserveCapacity(min(first.count, 199))
        for byte in first where kept.count < 199 {
            if byte == component {
                kept.append(0x5E)  // components as `^`, whatever the message uses
            } else if byte >= 0x20, byte < 0x7F, !"|^~\\&".utf8.contains(byte) {
                kept.append(byte)
            }
        }
        return kept.isEmpty ? nil : String(decoding: kept, as: UTF8.self)
    }

    /// A component of MSH-`number` (components were split on the message's own delimiter).
    public func component(_ number: Int, _ component: Int) -> String? {
        guard let value = field(number) else { return nil }
        let parts = value.split(separator: "^", omittingEmptySubsequences: false)
        guard component >= 1, component <= parts.count, !parts[component - 1].isEmpty else { return nil }
        return String(parts[component - 1])
    }
}
