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

    mutating func appendRow(_ fields: [(value: DatabaseValue, type: ColumnType)]) {
        for (index, field) in fields.enumerated() {
            if index > 0 { bytes.append(0x09) }
            append(field.value, as: field.type)
        }
        bytes.append(0x0A)
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
            bytes += Array("\\\\x".utf8)
            for byte in data { bytes += Self.hex(byte) }
        case (.string(let text), .blob):
            bytes += Array("\\\\x".utf8)
            for byte in text.utf8 { bytes += Self.hex(byte) }
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
        // Most text needs no escape: copied whole.
        if !text.utf8.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || $0 == 0x00 }) {
            bytes.append(contentsOf: text.utf8)
            return
        }
        for byte in text.utf8 {
            switch byte {
            case 0x5C: bytes += [0x5C, 0x5C]
            case 0x09: bytes += [0x5C, 0x74]
            case 0x0A: bytes += [0x5C, 0x6E]
            case 0x0D: bytes += [0x5C, 0x72]
            case 0x00: bytes += [0xEF, 0xBF, 0xBD]  // U+FFFD
            default: bytes.append(byte)
            }
        }
    }

    private static let digits = Array("0123456789abcdef".utf8)

    private static func hex(_ byte: UInt8) -> [UInt8] {
        [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
    }
}
