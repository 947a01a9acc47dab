import CRMDomain
import Foundation
import Hummingbird
import NIOCore
import NodeRuntime

/// Dashboards: every chart drawn as SVG by the server, with its table and a CSV download.
extension WebUI {
    package func addDashboard(to router: Router<APIRequestContext>) {
        let crm = self.crm
        pages(router, .manager, .admin).get("/dashboard") { request, context in
            let session = try context.session()
            let range = Self.range(request, crm)
            let period = StatisticsPeriod(rawValue: request.query("period") ?? "") ?? .range
            let charts = try await Self.charts(crm, session.caller, range, session.strings, npsPeriod: period)
            let s = session.strings
            let periods = StatisticsPeriod.allCases.map { option -> Markup in
                "<option value=\"\(option.rawValue)\"\(option == period ? " selected" : "")>\(s[option.rawValue])</option>"
            }
            var html: Markup = .empty
            if let year = try await crm.organisation.yearWithoutSchedule() {
                // Complaint deadlines would ignore that year's holidays until its schedule is imported.
                html += "<p class=\"error\" role=\"alert\" id=\"calendar-warning\">\(s["calendarMissing"].replacingOccurrences(of: "{year}", with: String(year)))</p>"
            }
            html += """
                <form method="get" action="/dashboard" class="card"><div class="grid">
                <div><label for="from">\(s["from"])</label><input type="date" id="from" name="from" value="\(e(range.from))"></div>
                <div><label for="to">\(s["to"])</label><input type="date" id="to" name="to" value="\(e(range.to))"></div>
                <div><label for="period">\(s["nps"])</label><select id="period" name="period">
                \(periods.joined())</select></div></div>
                <p><button type="submit">\(s["dashboard"])</button></p></form>
                """
            html += Self.figures(charts, csv: "/dashboard", query: "from=\(range.from)&to=\(range.to)&period=\(period.rawValue)", s: s)
            return session.page(s["dashboard"], html)
        }
        pages(router, .manager, .admin).get("/dashboard/:chart") { request, context in
            let session = try context.session()
            let name = try context.parameters.id("chart")
            let range = Self.range(request, crm)
            let period = StatisticsPeriod(rawValue: request.query("period") ?? "") ?? .range
            let charts = try await Self.charts(crm, session.caller, range, session.strings, npsPeriod: period)
            return try Self.chartCSV(charts.map(\.0), file: name)
        }
    }

    /// Each chart as a figure: the SVG, its table (open when printed) and a link to its CSV at
    /// `csv/<id>.csv?query`.
    package static func figures(_ charts: [(ChartData, String)], csv: String, query: String, s: Strings) -> Markup {
        charts.markup { chart, kind in
            let svg =
                switch kind {
                case "pie": SVGChart.pie(chart)
                case "line": SVGChart.line(chart)
                default: SVGChart.bars(chart)
                }
            return """
                <figure class="card chart" id="chart-\(chart.id)"><figcaption><h2>\(e(chart.title))</h2></figcaption>\(svg)
                <details><summary>\(s["table"])</summary>\(chart.table)</details>
                <p class="no-print"><a href="\(csv)/\(chart.id).csv?\(e(query))" download>\(s["csv"])</a></p></figure>
                """
        }
    }

    /// The chart whose file name is `file` (`<id>.csv`) as a CSV download.
    package static func chartCSV(_ charts: [ChartData], file: String) throws -> Response {
        guard let chart = charts.first(where: { "\($0.id).csv" == file }) else { throw CRMError(.notFound, "no chart '\(file.prefix(40))'") }
        return WebPage.csvDownload(chart.csv, filename: "\(chart.id).csv")
    }

    /// `?from=&to=`, default: this year up to today.
    package static func range(_ request: Request, _ crm: CRM) -> DayRange {
        let today = crm.today()
        return DayRange(from: request.query("from") ?? String(today.prefix(4)) + "-01-01", to: request.query("to") ?? today)
    }

    package static func charts(_ crm: CRM, _ caller: Caller, _ range: DayRange, _ s: Strings, npsPeriod: StatisticsPeriod) async throws -> [(ChartData, String)] {
        let modeNames = ["bedside": s["bedside"], "phone": s["phoneMode"], "sms": s["sms"], "kiosk": s["kiosk"]]
        let wards = Dictionary(try await crm.organisation.references(.ward).map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        var charts: [(ChartData, String)] = []
        // Satisfaction trend by month, one line per survey mode (never pooled); a month without responses in a mode is a gap.
        let modes = SurveyMode.allCases.map(\.rawValue)
        var trend: [(label: String, values: [Double?])] = []
        var month = String(range.from.prefix(7))
        while month <= String(range.to.prefix(7)), trend.count < 36 {
            let (year, number) = (Int(month.prefix(4)) ?? 2026, Int(month.suffix(2)) ?? 1)
            let next = number == 12 ? String(format: "%04d-01", year + 1) : String(format: "%04d-%02d", year, number + 1)
            let monthEnd = crm.time.day(next + "-01", plus: -1) ?? month + "-28"
            let rows = try await crm.statistics.satisfaction(caller, range: DayRange(from: max(range.from, month + "-01"), to: min(range.to, monthEnd)))
            let byMode = Dictionary(rows.map { ($0.mode, $0) }, uniquingKeysWith: { a, _ in a })
            trend.append((label: month, values: modes.map { mode in byMode[mode].flatMap { $0.total == 0 ? nil : $0.satisfiedRate * 100 } }))
            month = next
        }
        let measuredModes = modes.indices.filter { index in trend.contains { $0.values[index] != nil } }
        charts.append(
            (
                ChartData(
                    id: "satisfaction-trend", title: "\(s["satisfaction"]) % · \(s["byMode"])", labelHeader: s["month"],
                    seriesNames: measuredModes.map { modeNames[modes[$0]] ?? modes[$0] },
                    rows: trend.map { month in (label: month.label, values: measuredModes.map { month.values[$0] }) }), "line"
            ))
        // Satisfaction split by mode, never pooled.
        let byMode = try await crm.statistics.satisfaction(caller, range: range)
        charts.append(
            (
                ChartData(
                    id: "satisfaction-by-mode", title: "\(s["satisfaction"]) · \(s["byMode"]) (%)", labelHeader: s["byMode"], valueHeader: "\(s["satisfied"]) %",
                    rows: byMode.map { (label: modeNames[$0.mode] ?? $0.mode, value: $0.satisfiedRate * 100) }), "bars"
            ))
        charts.append(
            (
                ChartData(
                    id: "mode-split", title: s["byMode"], labelHeader: s["byMode"], valueHeader: s["responses"],
                    rows: byMode.map { (label: modeNames[$0.mode] ?? $0.mode, value: Double($0.total - $0.notReached)) }, format: "%.0f"), "pie"
            ))
        // NPS per ward (and year, quarter or month), each survey mode separately.
        let nps = try await crm.statistics.nps(caller, range: range, period: npsPeriod)
        charts.append(
            (
                ChartData(
                    id: "nps-by-ward", title: "\(s["nps"]) · \(s["ward"])", labelHeader: s["ward"], valueHeader: "NPS",
                    rows: nps.map { row in
                        let period = npsPeriod == .range ? "" : " \(row.period)"
                        return (label: "\(wards[row.wardId] ?? row.wardId)\(period) \(modeNames[row.mode] ?? row.mode)", value: row.nps)
                    }), "bars"
            ))
        let opinions = try await crm.statistics.opinionsByDepartment(caller, range: range)
        charts.append(
            (
                ChartData(
                    id: "opinions-by-department", title: s["opinionsByDepartment"], labelHeader: s["department"], valueHeader: s["responses"],
                    rows: opinions.map { (label: $0.name.isEmpty ? $0.departmentId : $0.name, value: Double($0.total)) }, format: "%.0f"), "bars"
            ))
        charts.append(
            (
                ChartData(
                    id: "department-share", title: "\(s["opinionsByDepartment"]) · \(s["share"])", labelHeader: s["department"], valueHeader: s["share"],
                    rows: opinions.map { (label: $0.name.isEmpty ? $0.departmentId : $0.name, value: $0.share * 100) }), "pie"
            ))
        let coverage = try await crm.statistics.coverage(caller, range: range)
        charts.append(
            (
                ChartData(
                    id: "coverage", title: "\(s["coverage"]) (%)", labelHeader: s["kind"], seriesNames: [s["doneRate"], s["onTimeRate"], s["dueCount"]],
                    rows: coverage.map { (label: s[$0.kind], values: [$0.doneRate * 100, $0.onTimeRate * 100, Double($0.due)]) }), "bars"
            ))
        return charts
    }
}
