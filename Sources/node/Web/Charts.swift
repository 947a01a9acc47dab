import Foundation

/// One chart's data: a label and a value per bar, slice or point. Rendered as SVG by the server,
/// as a table, and as CSV — the same numbers three ways.
struct ChartData: Sendable {
    var id: String
    var title: String
    var labelHeader: String
    var valueHeader: String
    var rows: [(label: String, value: Double)]
    var format: String = "%.1f"

    var csv: String {
        CSVLine.of([labelHeader, valueHeader]) + rows.map { CSVLine.of([$0.label, String(format: format, $0.value)]) }.joined()
    }

    var table: String {
        "<table class=\"chart-table\"><thead><tr><th>\(e(labelHeader))</th><th>\(e(valueHeader))</th></tr></thead><tbody>"
            + rows.map { "<tr><td>\(e($0.label))</td><td>\(String(format: format, $0.value))</td></tr>" }.joined() + "</tbody></table>"
    }
}

enum CSVLine {
    static func of(_ fields: [String]) -> String {
        fields.map { $0.contains(where: { ",\"\n".contains($0) }) ? "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : $0 }
            .joined(separator: ",") + "\n"
    }
}

/// SVG charts, drawn on the server: no script, readable without colour (values are written on them).
enum SVGChart {
    static let palette = ["#0b6bcb", "#1f8a4c", "#b26a00", "#c0392b", "#6b4fbb", "#0f8c8c", "#8c6d1f", "#5b6878"]

    /// Horizontal bars (one per row), values written at the bar ends; negative values go left of zero.
    static func bars(_ data: ChartData) -> String {
        let rowHeight = 26.0, labelWidth = 210.0, width = 680.0
        let height = Double(max(data.rows.count, 1)) * rowHeight + 10
        let minimum = min(0, data.rows.map(\.value).min() ?? 0), maximum = max(1, data.rows.map(\.value).max() ?? 1)
        let scale = (width - labelWidth - 60) / (maximum - minimum)
        let zero = labelWidth + (-minimum) * scale
        var svg = "<svg role=\"img\" aria-label=\"\(e(data.title))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\">"
        for (index, row) in data.rows.enumerated() {
            let y = Double(index) * rowHeight + 5
            let x = row.value >= 0 ? zero : zero + row.value * scale
            let w = abs(row.value) * scale
            svg += "<text x=\"\(labelWidth - 6)\" y=\"\(y + 16)\" text-anchor=\"end\">\(e(String(row.label.prefix(26))))</text>"
            svg += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(max(w, 1))\" height=\"\(rowHeight - 8)\" fill=\"\(palette[index % palette.count])\"></rect>"
            svg += "<text x=\"\(max(x + w, zero) + 4)\" y=\"\(y + 16)\">\(String(format: data.format, row.value))</text>"
        }
        return svg + "<line x1=\"\(zero)\" y1=\"0\" x2=\"\(zero)\" y2=\"\(height)\" stroke=\"#5b6878\"></line></svg>"
    }

    /// A pie of shares (rows' values are weights), with a legend.
    static func pie(_ data: ChartData) -> String {
        let total = data.rows.reduce(0) { $0 + max(0, $1.value) }
        var svg = "<svg role=\"img\" aria-label=\"\(e(data.title))\" viewBox=\"0 0 520 220\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\">"
        guard total > 0 else { return svg + "</svg>" }
        var angle = -Double.pi / 2
        let (cx, cy, r) = (110.0, 110.0, 100.0)
        for (index, row) in data.rows.enumerated() where row.value > 0 {
            let sweep = row.value / total * 2 * .pi
            let (x1, y1) = (cx + r * cos(angle), cy + r * sin(angle))
            let (x2, y2) = (cx + r * cos(angle + sweep), cy + r * sin(angle + sweep))
            let color = palette[index % palette.count]
            if data.rows.filter({ $0.value > 0 }).count == 1 {
                svg += "<circle cx=\"\(cx)\" cy=\"\(cy)\" r=\"\(r)\" fill=\"\(color)\"></circle>"
            } else {
                svg += "<path d=\"M\(cx),\(cy) L\(x1),\(y1) A\(r),\(r) 0 \(sweep > .pi ? 1 : 0),1 \(x2),\(y2) Z\" fill=\"\(color)\"></path>"
            }
            let legendY = 20 + Double(index) * 20
            svg += "<rect x=\"240\" y=\"\(legendY - 11)\" width=\"12\" height=\"12\" fill=\"\(color)\"></rect>"
            svg += "<text x=\"258\" y=\"\(legendY)\">\(e(String(row.label.prefix(16)))) \(String(format: "%.0f%%", row.value / total * 100))</text>"
            angle += sweep
        }
        return svg + "</svg>"
    }

    /// A line over ordered points (a trend), values written at the points.
    static func line(_ data: ChartData, maximum: Double = 100) -> String {
        let (width, height, left, bottom) = (640.0, 220.0, 40.0, 30.0)
        let step = data.rows.count > 1 ? (width - left - 20) / Double(data.rows.count - 1) : 0
        func y(_ value: Double) -> Double { (height - bottom) - value / maximum * (height - bottom - 20) }
        var svg = "<svg role=\"img\" aria-label=\"\(e(data.title))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\">"
        svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width)\" y2=\"\(height - bottom)\" stroke=\"#5b6878\"></line>"
        let points = data.rows.enumerated().map { (left + Double($0.offset) * step, y($0.element.value)) }
        svg += "<polyline fill=\"none\" stroke=\"#0b6bcb\" stroke-width=\"2\" points=\"\(points.map { "\($0.0),\($0.1)" }.joined(separator: " "))\"></polyline>"
        for (index, row) in data.rows.enumerated() {
            let (x, yy) = points[index]
            svg += "<circle cx=\"\(x)\" cy=\"\(yy)\" r=\"3\" fill=\"#0b6bcb\"></circle><text x=\"\(x)\" y=\"\(yy - 6)\" text-anchor=\"middle\">\(String(format: data.format, row.value))</text>"
            svg += "<text x=\"\(x)\" y=\"\(height - 10)\" text-anchor=\"middle\">\(e(row.label))</text>"
        }
        return svg + "</svg>"
    }
}
