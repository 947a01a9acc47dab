import NodeRuntime
import Foundation

/// Server-rendered HTML: text is escaped where it is interpolated, so nothing a user typed can
/// become markup. Pages are small strings put together by `WebPage`.
package enum HTML {
    /// Escapes text for element content and quoted attribute values.
    package static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }

    /// Escapes a URL path segment or query value.
    package static func urlComponent(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }
}

/// An ISO-8601 timestamp to the minute, as pages show it (`2026-11-23 10:05`), escaped.
package func minute(_ timestamp: String?) -> String {
    e(timestamp.map { String($0.prefix(16)).replacingOccurrences(of: "T", with: " ") })
}

/// `e("…")` in page code: escape.
package func e(_ text: String?) -> String { HTML.escape(text ?? "") }
