/// Reads HL7 v2 text (ER7, the pipe-delimited form) into segments. The text is UTF-8: a message
/// in another character set is converted first (``HL7Charset``).
///
/// Bounded by the bytes it is given: no recursion, one pass to split segments and one per segment
/// to split fields. Segments end with CR; LF and CRLF are accepted too, as engines send them.
public enum HL7Parser {
    /// At most this many segments in one message.
    public static let maximumSegments = 5_000

    /// Parses a message that must start with MSH.
    /// - Throws: ``HL7Error`` when MSH is missing, its delimiters are unusable, or a segment id is malformed.
    public static func parse(_ utf8: [UInt8]) throws(HL7Error) -> HL7Message {
        guard utf8.count >= 8, utf8.starts(with: Array("MSH".utf8)) else { throw HL7Error(.segmentSequence, "the message does not start with an MSH segment") }
        let delimiters = try readDelimiters(utf8)
        var segments: [HL7Segment] = []
        for line in utf8.split(omittingEmptySubsequences: true, whereSeparator: { $0 == 0x0D || $0 == 0x0A }) {
            guard segments.count < maximumSegments else { throw HL7Error(.segmentSequence, "more than \(maximumSegments) segments") }
            segments.append(try segment(line, delimiters: delimiters))
        }
        return HL7Message(segments: segments, delimiters: delimiters)
    }

    /// MSH-1 and MSH-2: five distinct printable ASCII characters that are not letters or digits.
    static func readDelimiters(_ utf8: [UInt8]) throws(HL7Error) -> HL7Delimiters {
        let field = utf8[3]
        let encoding = utf8[4..<8]
        let all = [field] + Array(encoding)
        guard all.allSatisfy({ $0 > 0x20 && $0 < 0x7F && !isAlphanumeric($0) }), Set(all).count == 5 else {
            throw HL7Error(.segmentSequence, "MSH-1 and MSH-2 must be five distinct delimiter characters (e.g. |^~\\&)", at: "MSH^2")
        }
        return HL7Delimiters(field: field, component: encoding[4], repetition: encoding[5], escape: encoding[6], subcomponent: encoding[7])
    }

    private static func segment(_ line: ArraySlice<UInt8>, delimiters: HL7Delimiters) throws(HL7Error) -> HL7Segment {
        let parts = line.split(separator: delimiters.field, omittingEmptySubsequences: false)
        let id = parts[0]
        guard id.count == 3, id.allSatisfy(isAlphanumeric) else { throw HL7Error(.segmentSequence, "a segment id must be three letters or digits") }
        var fields = Array(parts)
        if id.elementsEqual("MSH".utf8) {
            // The standard counts the field separator itself as MSH-1 (absent from a bare `MSH`,
            // which may come as a later segment).
            fields.insert(line.count > 3 ? line[(line.startIndex + 3)..<(line.startIndex + 4)] : line[line.endIndex...], at: 1)
        }
        return HL7Segment(id: String(decoding: id, as: UTF8.self), fields: fields, delimiters: delimiters)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }
}
