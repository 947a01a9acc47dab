import Foundation

/// A piece of HTML. Interpolated text is escaped: `"<td>\(patient.name)</td>" as Markup` can
/// never put what a user typed into the page as markup. Only markup (``Markup`` values, built the
/// same way) and numbers go in as they are; text that really is markup must say so
/// (``init(trusted:)``, for the page's own constants and assets).
package struct Markup: Sendable, Hashable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// The HTML text.
    package private(set) var html: String

    /// Markup written by this program (never text from a user, a peer or the database).
    package init(trusted html: String) {
        self.html = html
    }

    package init(stringLiteral value: String) {
        html = value
    }

    package init(stringInterpolation: StringInterpolation) {
        html = stringInterpolation.html
    }

    package var description: String { html }

    /// Nothing.
    package static let empty = Markup(trusted: "")

    package static func + (lhs: Markup, rhs: Markup) -> Markup { Markup(trusted: lhs.html + rhs.html) }
    package static func += (lhs: inout Markup, rhs: Markup) { lhs.html += rhs.html }

    /// Builds markup: literals as they are, markup as it is, text escaped.
    package struct StringInterpolation: StringInterpolationProtocol {
        var html = ""

        package init(literalCapacity: Int, interpolationCount: Int) {
            html.reserveCapacity(literalCapacity + 16 * interpolationCount)
        }

        package mutating func appendLiteral(_ literal: String) { html += literal }
        package mutating func appendInterpolation(_ markup: Markup) { html += markup.html }
        package mutating func appendInterpolation(_ markup: Markup?) { html += markup?.html ?? "" }
        package mutating func appendInterpolation(_ text: String) { html += HTML.escape(text) }
        package mutating func appendInterpolation(_ text: Substring) { html += HTML.escape(String(text)) }
        package mutating func appendInterpolation(_ text: String?) { html += HTML.escape(text ?? "") }
        package mutating func appendInterpolation<Number: BinaryInteger>(_ number: Number) { html += String(number) }
        package mutating func appendInterpolation(_ number: Double) { html += String(number) }
    }
}

extension Sequence {
    /// Each element's markup, one after another: `rows.markup { "<tr><td>\($0.name)</td></tr>" }`.
    package func markup(_ transform: (Element) throws -> Markup) rethrows -> Markup {
        Markup(trusted: try map { try transform($0).html }.joined())
    }
}

extension Sequence where Element == Markup {
    /// The pieces one after another (with `separator` between them).
    package func joined(separator: Markup = .empty) -> Markup {
        Markup(trusted: map(\.html).joined(separator: separator.html))
    }
}

/// Escaping for the places ``Markup`` does not cover.
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

/// An ISO-8601 timestamp to the minute, as pages show it (`2026-11-23 10:05`).
package func minute(_ timestamp: String?) -> Markup {
    "\(timestamp.map { String($0.prefix(16)).replacingOccurrences(of: "T", with: " ") })"
}

/// A refusal shown above a form (nothing when there is none); screen readers announce it.
package func errorBanner(_ text: String?) -> Markup {
    text.map { text -> Markup in "<p class=\"error\" role=\"alert\">\(text)</p>" } ?? .empty
}

/// `e("…")` in page code: text, escaped.
package func e(_ text: String?) -> Markup { "\(text)" }
