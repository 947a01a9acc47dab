import Foundation
import Testing

@testable import NodeHTTP

/// WCAG 2.1 AA: text at least 4.5:1 against what it sits on, focus indicators at least 3:1, for
/// every colour pair the stylesheet puts text on (read from the stylesheet itself).
@Suite("Web UI: colour contrast (WCAG AA)")
struct ContrastTests {
    static func luminance(_ hex: String) -> Double {
        var digits = hex.dropFirst().map(String.init)
        if digits.count == 3 { digits = digits.flatMap { [$0, $0] } }
        let channels = stride(from: 0, to: 6, by: 2).map { Double(Int(digits[$0] + digits[$0 + 1], radix: 16) ?? 0) / 255 }
        let linear = channels.map { $0 <= 0.03928 ? $0 / 12.92 : pow(($0 + 0.055) / 1.055, 2.4) }
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    }

    static func ratio(_ a: String, _ b: String) -> Double {
        let (x, y) = (luminance(a), luminance(b))
        return (max(x, y) + 0.05) / (min(x, y) + 0.05)
    }

    /// The stylesheet's `--name: #hex` colours.
    static var variables: [String: String] {
        let css = WebAssets.css
        var found: [String: String] = [:]
        for match in css.matches(of: /--([a-z]+): (#[0-9a-fA-F]{3,6});/) { found[String(match.1)] = String(match.2) }
        return found
    }

    @Test func everyTextColourStandsOutFromItsBackground() throws {
        let v = Self.variables
        func color(_ name: String) throws -> String { name.hasPrefix("#") ? name : try #require(v[name], "--\(name)") }
        let pairs: [(text: String, on: String)] = [
            ("ink", "bg"), ("ink", "card"), ("muted", "bg"), ("muted", "card"), ("muted", "#eef2f7"), ("accent", "card"), ("accent", "bg"),
            ("#fff", "accent"), ("#fff", "bad"), ("#fff", "ok"), ("warn", "card"), ("warn", "bg"), ("bad", "card"), ("bad", "bg"), ("ok", "card"),
            ("ink", "#e3e9f0"), ("ink", "#e7f6ec"), ("ink", "#fdecea"), ("ink", "#dbeafe"), ("ink", "#fff8e1"), ("#fff", "#12324f"),
        ]
        for (text, background) in pairs {
            let contrast = Self.ratio(try color(text), try color(background))
            #expect(contrast >= 4.5, "\(text) on \(background): \(String(format: "%.2f", contrast)):1")
        }
        for chart in SVGChart.palette { #expect(Self.ratio(chart, "#ffffff") >= 4.5, "chart colour \(chart) as a label on white") }
        // Every CSS colour pair above is one the stylesheet uses.
        for literal in ["#eef2f7", "#e3e9f0", "#e7f6ec", "#fdecea", "#dbeafe", "#fff8e1", "#12324f"] { #expect(WebAssets.css.contains(literal)) }
    }

    @Test func theFocusRingShowsOnLightPagesAndOnTheDarkHeader() throws {
        let rule = try #require(WebAssets.css.split(separator: "\n").first { $0.contains(":focus-visible") }.map(String.init))
        let colours = rule.matches(of: /#[0-9a-fA-F]{6}/).map { String($0.0) }
        #expect(colours.contains { Self.ratio($0, "#ffffff") >= 3 && Self.ratio($0, "#f5f7fa") >= 3 }, "on pages: \(rule)")
        #expect(colours.contains { Self.ratio($0, "#12324f") >= 3 }, "on the header: \(rule)")
    }
}
