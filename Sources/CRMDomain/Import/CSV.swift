import Foundation

/// RFC 4180 CSV: comma-separated, `"` quotes, `""` inside quotes, CRLF or LF line ends, an
/// optional UTF-8 byte-order mark.
public enum CSV {
    /// A record and the line it starts on (1-based, counting the header).
    public struct Record: Sendable {
        public var line: Int
        public var fields: [String]
    }

    /// Why a file could not be read at all.
    public struct SyntaxError: Error, Sendable, CustomStringConvertible {
        public var line: Int
        public var problem: String
        public var description: String { "line \(line): \(problem)" }
    }

    /// Splits text into records. Blank lines are skipped.
    public static func parse(_ text: String) throws(SyntaxError) -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var afterQuote = false
        var line = 1
        var recordLine = 1
        var characters = Substring(text)
        if characters.first == "\u{FEFF}" { characters = characters.dropFirst() }

        func endRecord() {
            fields.append(field)
            if !(fields.count == 1 && fields[0].isEmpty) { records.append(Record(line: recordLine, fields: fields)) }
            fields = []
            field = ""
        }

        var iterator = characters.makeIterator()
        while let character = iterator.next() {
            if inQuotes {
                if character == "\"" { inQuotes = false; afterQuote = true; continue }
                if character == "\n" || character == "\r\n" { line += 1 }
                field.append(character)
                continue
            }
            switch character {
            case "\"":
                if afterQuote { field.append("\""); inQuotes = true; afterQuote = false; continue }
                guard field.isEmpty else { throw SyntaxError(line: line, problem: "a quote inside an unquoted field") }
                inQuotes = true
            case ",":
                fields.append(field)
                field = ""
                afterQuote = false
            case "\n", "\r\n", "\r":
                endRecord()
                afterQuote = false
                line += 1
                recordLine = line
            default:
                guard !afterQuote else { throw SyntaxError(line: line, problem: "text after a closing quote") }
                field.append(character)
            }
        }
        if inQuotes { throw SyntaxError(line: recordLine, problem: "a quoted field is never closed") }
        if !field.isEmpty || !fields.isEmpty { endRecord() }
        return records
    }

    /// One CSV line (with its LF) for `fields`, quoting where needed. A field a spreadsheet would
    /// run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return, and not a
    /// plain number) gets a leading `'`, so an exported name like `=HYPERLINK(…)` stays text.
    public static func line(_ fields: [String?]) -> String {
        fields.map { field in
            guard let field = field.map(neutralised) else { return "" }
            if field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
                return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            }
            return field
        }.joined(separator: ",") + "\n"
    }

    /// The field, with a leading `'` when a spreadsheet would take it for a formula.
    static func neutralised(_ field: String) -> String {
        guard let first = field.first, "=+-@\t\r".contains(first), Double(field) == nil else { return field }
        return "'" + field
    }
}
