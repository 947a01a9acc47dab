import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime

/// The follow-up centre's reports (the seeds' statistics): results counted four ways and split by
/// doctor, disease and department, staff workload, coverage per department, complaint ageing and
/// opinions per member of staff. Each is a chart, its table and a CSV; the page prints as a report.
extension WebUI {
    package func addReports(to router: Router<APIRequestContext>) {
        let crm = self.crm
        pages(router, .manager, .admin).get("/reports") { request, context in
            let session = try context.session()
            let range = Self.range(request, crm)
            let s = session.strings
            let charts = try await Self.reportCharts(crm, session.caller, range, s)
            var html: Markup = """
                <form method="get" action="/reports" class="card no-print"><div class="grid">
                <div><label for="from">\(s["from"])</label><input type="date" id="from" name="from" value="\(e(range.from))"></div>
                <div><label for="to">\(s["to"])</label><input type="date" id="to" name="to" value="\(e(range.to))"></div></div>
                <p><button type="submit">\(s["reports"])</button> <button type="button" class="secondary" data-print>\(s["print"])</button></p></form>
                <p class="print-only">\(s["reports"]) · \(e(range.from)) – \(e(range.to))</p>
                """
            html += Self.figures(charts, csv: "/reports", query: "from=\(range.from)&to=\(range.to)", s: s)
            return session.page(s["reports"], html)
        }
        pages(router, .manager, .admin).get("/reports/:chart") { request, context in
            let session = try context.session()
            let charts = try await Self.reportCharts(crm, session.caller, Self.range(request, crm), session.strings)
            return try Self.chartCSV(charts.map(\.0), file: try context.parameters.id("chart"))
        }
    }

    static func reportCharts(_ crm: CRM, _ caller: Caller, _ range: DayRange, _ s: Strings) async throws -> [(ChartData, String)] {
        let modeNames = ["bedside": s["bedside"], "phone": s["phoneMode"], "sms": s["sms"], "kiosk": s["kiosk"]]
        func named(_ key: String, _ name: String) -> String { key.isEmpty ? s["unknown"] : name.isEmpty ? key : "\(name) (\(key))" }
        var charts: [(ChartData, String)] = []
        let outcomes = try await crm.statistics.satisfaction(caller, range: range)
        let outcomeNames = [s["satisfied"], s["dissatisfied"], s["noOpinion"], s["notReached"]]
        charts.append(
            (
                ChartData(
                    id: "results", title: s["resultCounts"], labelHeader: s["byMode"], seriesNames: outcomeNames,
                    rows: outcomes.map { row in
                        (label: modeNames[row.mode] ?? row.mode, values: [row.satisfied, row.dissatisfied, row.noOpinion, row.notReached].map(Double.init))
                    }, format: "%.0f"), "bars"
            ))
        charts.append(
            (
                ChartData(
                    id: "result-rates", title: "\(s["resultCounts"]) (%)", labelHeader: s["byMode"], seriesNames: outcomeNames,
                    rows: outcomes.map { row in
                        (label: modeNames[row.mode] ?? row.mode, values: [row.satisfiedRate, row.dissatisfiedRate, row.noOpinionRate, row.notReachedRate].map { $0 * 100 })
                    }), "bars"
            ))
        for grouping in ResultGrouping.allCases {
            let rows = try await crm.statistics.results(caller, range: range, by: grouping).prefix(30)
            charts.append(
                (
                    ChartData(
                        id: "results-by-\(grouping.rawValue)", title: s["resultsBy-\(grouping.rawValue)"], labelHeader: s[grouping.rawValue],
                        seriesNames: ["\(s["satisfied"]) %", s["responses"], s["dissatisfied"]],
                        rows: rows.map { row in
                            (label: named(row.key, row.name), values: [row.satisfiedRate * 100, Double(row.responses), Double(row.dissatisfied)])
                        }), "bars"
                ))
        }
        let workload = try await crm.statistics.workload(caller, range: range).prefix(40)
        charts.append(
            (
                ChartData(
                    id: "workload", title: s["workload"], labelHeader: s["who"],
                    seriesNames: [s["calls"], s["reached"], s["surveys"], s["complaintSteps"]],
                    rows: workload.map { row in
                        (label: named(row.userId, row.name), values: [row.calls, row.reached, row.surveys, row.complaintSteps].map(Double.init))
                    }, format: "%.0f"), "bars"
            ))
        let coverage = try await crm.statistics.coverageByDepartment(caller, range: range)
        charts.append(
            (
                ChartData(
                    id: "coverage-by-department", title: "\(s["coverage"]) · \(s["department"]) (%)", labelHeader: s["department"],
                    seriesNames: [s["doneRate"], s["onTimeRate"], s["dueCount"]],
                    rows: coverage.map { row in (label: named(row.departmentId, row.name), values: [row.doneRate * 100, row.onTimeRate * 100, Double(row.due)]) }),
                "bars"
            ))
        let ageing = try await crm.statistics.complaintAgeing(caller)
        charts.append(
            (
                ChartData(
                    id: "complaint-ageing", title: "\(s["complaintAgeing"]) · \(s["open"]) \(ageing.open) · \(s["overdue"]) \(ageing.overdue)",
                    labelHeader: s["workingDays"], valueHeader: s["complaints"],
                    rows: ["0-2", "3-5", "6-10", "11+"].map { (label: $0, value: Double(ageing.byAge[$0] ?? 0)) }, format: "%.0f"), "bars"
            ))
        charts.append(
            (
                ChartData(
                    id: "complaints-by-stage", title: "\(s["complaintAgeing"]) · \(s["stage"])", labelHeader: s["stage"], valueHeader: s["complaints"],
                    rows: ["registered", "accepted", "investigating", "handled"].map { (label: s[$0], value: Double(ageing.byStatus[$0] ?? 0)) },
                    format: "%.0f"), "bars"
            ))
        let byStaff = try await crm.statistics.opinionsByStaff(caller, range: range).prefix(40)
        charts.append(
            (
                ChartData(
                    id: "opinions-by-staff", title: s["opinionsByStaff"], labelHeader: s["staffMember"],
                    seriesNames: [s["important"], s["praise"], s["suggestion"], s["escalated"]],
                    rows: byStaff.map { row in
                        (label: named(row.key, row.name), values: [row.important, row.praise, row.suggestion, row.escalated].map(Double.init))
                    }, format: "%.0f"), "bars"
            ))
        return charts
    }
}
