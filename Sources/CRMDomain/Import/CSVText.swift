import Foundation
import HL7

/// The bytes of a CSV file as text: what HIS systems and Excel really save. UTF-8 (with or without
/// the byte-order mark Excel writes), or GB18030 / GBK (Windows' "ANSI" on Chinese systems,
/// decoded with the system's iconv). Anything else is refused, never turned into garbled names.
public enum CSVText {
    /// The byte-order mark exports start with, so Excel and WPS read them as UTF-8.
    public static let byteOrderMark = "\u{FEFF}"

    /// The encodings a file was read in.
    public enum Encoding: String, Sendable {
        case utf8 = "UTF-8"
        case gb18030 = "GB18030"
    }

    /// Decodes a file.
    /// - Throws: ``CRMError`` `.invalid` when it is neither UTF-8 nor GB18030/GBK.
    public static func decode(_ bytes: [UInt8]) throws -> (text: String, encoding: Encoding) {
        let utf8BOM: [UInt8] = [0xEF, 0xBB, 0xBF]
        if bytes.starts(with: utf8BOM) {
            guard let text = String(validating: bytes.dropFirst(3), as: UTF8.self) else {
                throw CRMError.invalid("the file starts with a UTF-8 mark but is not UTF-8: save it again as CSV UTF-8")
            }
            return (text, .utf8)
        }
        if let text = String(validating: bytes, as: UTF8.self) { return (text, .utf8) }
        guard let text = GB18030.decode(bytes) else {
            throw CRMError.invalid("the file is neither UTF-8 nor GB18030/GBK text: save it as CSV UTF-8")
        }
        return (text, .gb18030)
    }
}
