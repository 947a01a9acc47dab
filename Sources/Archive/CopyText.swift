import Foundation
import GRDB
import Replica

/// Rows in the text format of PostgreSQL's `COPY … FROM STDIN`: tab-separated fields, `\N` for
/// NULL, backslash escapes for backslash, tab, newline and carriage return.
///
/// Values come from replicas, so they are hostile until checked: a value that does not fit its
/// column's declared type is archived as NULL (and counted), a NUL character, which PostgreSQL's
/// `text` cannot hold, becomes U+FFFD. Nothing a row holds can stop the archive.
struct CopyText: Sendable {
    private(set) var bytes: [UInt8] = []
    /// Values archived as NULL because they did not fit their column's type.
    private(set) var coerced = 0

    /// This text followed by `other`'s rows.
    mutating func append(contentsOf other: CopyText) {
        bytes += other.bytes
        coerced += other.coerced
    }

    /// Whether the next field starts a row (no tab before it).
    private var atRowStart = true

    /// Room for about `count` more bytes (a page's text is built in one allocation, not by
    /// doubling: growing it was a fifth of building it, in copies and fresh pages).
    mutating func reserve(_ count: Int) {
        bytes.reserveCapacity(bytes.count + count)
    }

    mutating func appendRow(_ fields: [(value: DatabaseValue, type: ColumnType)]) {
        for field in fields { appendField(field.value, as: field.type) }
        endRow()
    }

    /// Appends one field of the row being written.
    mutating func appendField(_ value: DatabaseValue, as type: ColumnType) {
        if !atRowStart { bytes.append(0x09) }
        atRowStart = false
        append(value, as: type)
    }

    /// Appends a text field escaped before by ``escaped(_:)`` (a value every row repeats, such
    /// as the hospital, escaped once for all of them).
    mutating func appendEscapedField(_ escaped: [UInt8]) {
        if !atRowStart { bytes.append(0x09) }
        atRowStart = false
        bytes += escaped
    }

    /// `text` as a COPY text field.
    static func escaped(_ text: String) -> [UInt8] {
        var copy = CopyText()
        copy.appendEscaped(text)
        return copy.bytes
    }

    /// Ends the row being written.
    mutating func endRow() {
        bytes.append(0x0A)
        atRowStart = true
    }

    private mutating func append(_ value: DatabaseValue, as type: ColumnType) {
        switch (value.storage, type) {
        case (.null, _):
            appendNull()
        case (.int64(let number), .integer), (.int64(let number), .real):
            appendDecimal(number)
        case (.double(let number), .real):
            bytes += Array((number.isNaN ? "NaN" : number.isInfinite ? (number > 0 ? "Infinity" : "-Infinity") : "\(number)").utf8)
        case (.double(let number), .integer):
            if number.rounded() == number, let exact = Int64(exactly: number) {
                appendDecimal(exact)
            } else {
                coerce()
            }
        case (.string(let text), .integer):
            if let number = Int64(text) { appendDecimal(number) } else { coerce() }
        case (.string(let text), .real):
            if let number = Double(text), number.isFinite { bytes += Array("\(number)".utf8) } else { coerce() }
        case (.string(let text), .text):
            appendEscaped(text)
        case (.int64(let number), .text):
            appendDecimal(number)
        case (.double(let number), .text):
            bytes += Array("\(number)".utf8)
        case (.blob(let data), .blob):
            // bytea's hex input form; the backslash itself escaped for COPY.
            appendHex(data)
        case (.string(let text), .blob):
            appendHex(Data(text.utf8))
        case (.blob, _):
            coerce()
        case (.int64, .blob), (.double, .blob):
            coerce()
        }
    }

    private mutating func appendNull() {
        bytes += [0x5C, 0x4E]  // \N
    }

    private mutating func coerce() {
        coerced += 1
        appendNull()
    }

    /// `number` in decimal, written digit by digit (a page writes hundreds of thousands).
    private mutating func appendDecimal(_ number: Int64) {
        if number < 0 { bytes.append(0x2D) }
        var magnitude = number.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = 0x30 + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[index]) }
        }
    }

    private mutating func appendEscaped(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            // Most text needs no escape: runs between escapes are copied whole.
            var run = 0
            for index in utf8.indices {
                let escape: [UInt8]
                switch utf8[index] {
                case 0x5C: escape = [0x5C, 0x5C]
                case 0x09: escape = [0x5C, 0x74]
                case 0x0A: escape = [0x5C, 0x6E]
                case 0x0D: escape = [0x5C, 0x72]
                case 0x00: escape = [0xEF, 0xBF, 0xBD]  // U+FFFD
                default: continue
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run..<index]))
                bytes += escape
                run = index + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run...]))
        }
    }

    private static let digits = Array("0123456789abcdef".utf8)

    /// bytea's hex input form, its backslash escaped for COPY.
    private mutating func appendHex(_ data: Data) {
        bytes += [0x5C, 0x5C, 0x78]  // \\x
        bytes.reserveCapacity(bytes.count + 2 * data.count)
        for byte in data {
            bytes.append(Self.digits[Int(byte >> 4)])
            bytes.append(Self.digits[Int(byte & 0x0F)])
        }
    }
}
