import Foundation

/// One-line text a person types (a name, a code): trimmed, without control characters, bounded.
/// docs/openapi.yaml says the same with the pattern `^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$`.
enum PlainText {
    /// `text` trimmed of white space; nil when what is left is empty, longer than `maximum`
    /// characters, or holds a control character (NUL, a line break, a form feed, …).
    static func line(_ text: String, maximum: Int) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= maximum,
            !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { return nil }
        return trimmed
    }
}
