import CRMDomain
import Foundation
import NodeRuntime

/// One chart's data: per label (a bar, a slice, a month) one value per series. Rendered as SVG by
/// the server, as a table and as CSV — the same numbers three ways. A missing value (`nil`: nothing
/// was measured, e.g. a month without responses in one survey mode) is a gap, never a zero.
package struct ChartData: Sendable {
    package var id: String
    package var title: String
    package var labelHeader: String
    package var seriesNames: [String]
    package var rows: [(label: String, values: [Double?])]
    package var format: String = "%.1f"

    /// One series: a value per label.
    package init(id: String, title: String, labelHeader: String, valueHeader: String, rows: [(label: String, value: Double)], format: String = "%.1f") {
        self.init(
            id: id, title: title, labelHeader: labelHeader, seriesNames: [valueHeader],
            rows: rows.map { (label: $0.label, values: [$0.value]) }, format: format)
    }

    /// Several series over the same labels (one line per survey mode, say).
    package init(id: String, title: String, labelHeader: String, seriesNames: [String], rows: [(label: String, values: [Double?])], format: String = "%.1f") {
        self.id = id
        self.title = title
        self.labelHeader = labelHeader
        self.seriesNames = seriesNames
        self.rows = rows
        self.format = format
    }

    /// The first series' values, for bars and pies (a gap counts as nothing).
    package var firstSeries: [(label: String, value: Double)] {
        rows.map { (label: $0.label, value: ($0.values.first ?? nil) ?? 0) }
    }

    package func formatted(_ value: Double?) -> String {
        value.map { String(format: format, $0) } ?? ""
    }

    package var csv: String {
        CSVLine.of([labelHeader] + seriesNames) + rows.map { row in CSVLine.of([row.label] + row.values.map(formatted)) }.joined()
    }

    package var table: Markup {
        let head = seriesNames.map { name -> Markup in "<th>\(name)</th>" }
        let body = rows.map { row -> Markup in
            let cells = row.values.map { value -> Markup in "<td>\(value == nil ? "–" : formatted(value))</td>" }
            return "<tr><td>\(row.label)</td>\(cells.joined())</tr>"
        }
        return "<table class=\"chart-table\"><thead><tr><th>\(labelHeader)</th>\(head.joined())</tr></thead><tbody>\(body.joined())</tbody></table>"
    }
}

package enum CSVLine {
    /// One line of a chart's CSV (``CSV/line(_:)``: quoted where needed, formulas neutralised).
    package static func of(_ fields: [String]) -> String {
        CSV.line(fields)
    }
}

/// SVG charts, drawn on the server: no script, readable without colour (values are written on them).
package enum SVGChart {
    package static let palette = ["#0b6bcb", "#17783f", "#9a5b00", "#c0392b", "#6b4fbb", "#0b7a7a", "#8c6d1f", "#5b6878"]

    /// Horizontal bars (one per row), values written at the bar ends; negative values go left of zero.
    package static func bars(_ data: ChartData) -> Markup {
        let rows = data.firstSeries
        let rowHeight = 26.0, labelWidth = 210.0, width = 680.0
        let height = Double(max(rows.count, 1)) * rowHeight + 10
        let minimum = min(0, rows.map(\.value).min() ?? 0), maximum = max(1, rows.map(\.value).max() ?? 1)
        let scale = (width - labelWidth - 60) / (maximum - minimum)
        let zero = labelWidth + (-minimum) * scale
        var svg: Markup = "<svg role=\"img\" aria-label=\"\(e(data.title))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\">"
        for (index, row) in rows.enumerated() {
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
    package static func pie(_ data: ChartData) -> Markup {
        let rows = data.firstSeries
        let total = rows.reduce(0) { $0 + max(0, $1.value) }
        var svg: Markup = "<svg role=\"img\" aria-label=\"\(e(data.title))\" viewBox=\"0 0 520 220\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\">"
        guard total > 0 else { return svg + "</svg>" }
        var angle = -Double.pi / 2
        let (cx, cy, r) = (110.0, 110.0, 100.0)
        for (index, row) in rows.enumerated() where row.value > 0 {
            let sweep = row.value / total * 2 * .pi
            let (x1, y1) = (cx + r * cos(angle), cy + r * sin(angle))
            let (x2, y2) = (cx + r * cos(angle + sweep), cy + r * sin(angle + sweep))
            let color = palette[index % palette.count]
            if rows.filter({ $0.value > 0 }).count == 1 {
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

    /// One line per series over ordered labels (a trend), values written at the points, a legend
    /// when there are several series. A gap (`nil`) breaks the line: no point, no value, no zero.
    package static func line(_ data: ChartData, maximum: Double = 100) -> Markup {
        let (width, height, left, bottom, top) = (640.0, 240.0, 40.0, 30.0, 20.0 + Double(data.seriesNames.count > 1 ? 18 : 0))
        let step = data.rows.count > 1 ? (width - left - 20) / Double(data.rows.count - 1) : 0
        func x(_ index: Int) -> Double { left + Double(index) * step }
        func y(_ value: Double) -> Double { (height - bottom) - value / maximum * (height - bottom - top) }
        var svg: Markup = "<svg role=\"img\" aria-label=\"\(e(data.title))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\">"
        svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width)\" y2=\"\(height - bottom)\" stroke=\"#5b6878\"></line>"
        for (series, name) in data.seriesNames.enumerated() {
            let color = palette[series % palette.count]
            // Consecutive measured points form one segment; a gap starts a new one.
            var segments: [[(Double, Double)]] = [[]]
            for (index, row) in data.rows.enumerated() {
                if series < row.values.count, let value = row.values[series] {
                    segments[segments.count - 1].append((x(index), y(value)))
                    svg += "<circle cx=\"\(x(index))\" cy=\"\(y(value))\" r=\"3\" fill=\"\(color)\"></circle>"
                    // With several lines, every other series writes its values below the points so close values stay readable.
                    let labelY = series % 2 == 0 ? y(value) - 6 : y(value) + 18
                    svg += "<text x=\"\(x(index))\" y=\"\(labelY)\" text-anchor=\"middle\" fill=\"\(color)\">\(String(format: data.format, value))</text>"
                } else if !(segments.last?.isEmpty ?? true) {
                    segments.append([])
                }
            }
            for segment in segments where segment.count > 1 {
                svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(segment.map { "\($0.0),\($0.1)" }.joined(separator: " "))\"></polyline>"
            }
            if data.seriesNames.count > 1 {
                let legendX = left + Double(series) * 130
                svg += "<rect x=\"\(legendX)\" y=\"4\" width=\"12\" height=\"12\" fill=\"\(color)\"></rect>"
                svg += "<text x=\"\(legendX + 16)\" y=\"15\">\(e(String(name.prefix(14))))</text>"
            }
        }
        for (index, row) in data.rows.enumerated() {
            svg += "<text x=\"\(x(index))\" y=\"\(height - 10)\" text-anchor=\"middle\">\(e(row.label))</text>"
        }
        return svg + "</svg>"
    }
}
