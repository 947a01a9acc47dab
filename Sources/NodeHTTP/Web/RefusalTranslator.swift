import Foundation

/// Says a domain refusal in the page's language. The domain speaks English (the API's and the
/// logs' language); Chinese pages show the ``RefusalTranslations`` entry whose pattern matches the
/// whole message, with the values it carries put back, and the English only for a message that
/// has no entry yet.
enum RefusalTranslator {
    /// Messages without values, looked up whole.
    private static let literal: [String: String] = Dictionary(
        RefusalTranslations.table.filter { !$0.english.contains("{}") }.map { ($0.english, $0.chinese) }, uniquingKeysWith: { first, _ in first })

    /// Messages with values: the pattern as an anchored expression, longest (most specific) first.
    private static let patterned: [(expression: NSRegularExpression, chinese: String)] = RefusalTranslations.table
        .filter { $0.english.contains("{}") }
        .sorted { $0.english.count > $1.english.count }
        .compactMap { entry in
            let parts = entry.english.components(separatedBy: "{}").map(NSRegularExpression.escapedPattern(for:))
            guard let expression = try? NSRegularExpression(pattern: "^" + parts.joined(separator: "(.*?)") + "$", options: [.dotMatchesLineSeparators])
            else { return nil }
            return (expression, entry.chinese)
        }

    /// The Chinese for `message`, or nil when there is none.
    static func chinese(_ message: String) -> String? {
        if let whole = literal[message] { return whole }
        let range = NSRange(message.startIndex..., in: message)
        for (expression, chinese) in patterned {
            guard let match = expression.firstMatch(in: message, range: range) else { continue }
            var text = chinese
            for group in stride(from: match.numberOfRanges - 1, through: 1, by: -1) {
                let value = Range(match.range(at: group), in: message).map { String(message[$0]) } ?? ""
                text = text.replacingOccurrences(of: "{\(group)}", with: value)
            }
            return text
        }
        return nil
    }
}

extension Strings {
    /// A refusal (a ``CRMError`` message, an import line's reason) as this page's language says it.
    package func refusal(_ message: String) -> String {
        language == .zh ? RefusalTranslator.chinese(message) ?? message : message
    }
}
