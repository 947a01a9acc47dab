import Foundation
import GRDB
import Replica

extension CRM.Statistics {
    /// Satisfaction counts and rates per survey mode, never pooled across modes.
    public func satisfaction(_ caller: Caller, range: DayRange, wardId: String? = nil, departmentId: String? = nil) async throws -> [SatisfactionRow] {
        try caller.require(.manager, .admin)
        try range.validate(time)
        return try await read { db in
            var sql = "SELECT mode, SUM(satisfied), SUM(dissatisfied), SUM(noOpinion) FROM \(ResponseStatistics.table) WHERE day >= ? AND day <= ?"
            var arguments: StatementArguments = [range.from, range.to]
            if let wardId { sql += " AND wardId = ?"; arguments += [wardId] }
            if let departmentId { sql += " AND departmentId = ?"; arguments += [departmentId] }
            sql += " GROUP BY mode"
            var rows: [String: SatisfactionRow] = [:]
            for row in try Row.fetchAll(db, sql: sql, arguments: arguments) {
                let mode: String = row[0] ?? "unknown"
                rows[mode] = SatisfactionRow(mode: mode, satisfied: row[1] ?? 0, dissatisfied: row[2] ?? 0, noOpinion: row[3] ?? 0, notReached: 0)
            }
            var taskSQL = """
                SELECT CASE kind WHEN 'bedside24h' THEN 'bedside' ELSE 'phone' END, COUNT(*) FROM followUpTask
                WHERE outcome IN ('noAnswer', 'wrongNumber') AND withdrawn IS NOT 1 AND dueDate >= ? AND dueDate <= ?
                """
            var taskArguments: StatementArguments = [range.from, range.to]
            if let wardId { taskSQL += " AND wardId = ?"; taskArguments += [wardId] }
            if let departmentId { taskSQL += " AND departmentId = ?"; taskArguments += [departmentId] }
            taskSQL += " GROUP BY 1"
            for row in try Row.fetchAll(db, sql: taskSQL, arguments: taskArguments) {
                let mode: String = row[0]
                rows[mode, default: SatisfactionRow(mode: mode, satisfied: 0, dissatisfied: 0, noOpinion: 0, notReached: 0)].notReached += row[1] as Int
            }
            return SurveyMode.allCases.compactMap { rows[$0.rawValue] }
        }
    }

    /// NPS per ward, period and mode. `period` groups by year, quarter, month, or takes the whole range.
    public func nps(_ caller: Caller, range: DayRange, period: StatisticsPeriod, wardId: String? = nil) async throws -> [NPSRow] {
        try caller.require(.manager, .admin)
        try range.validate(time)
        let periodSQL =
            switch period {
            case .year: "substr(day, 1, 4)"
            case .quarter: "substr(day, 1, 4) || '-Q' || ((CAST(substr(day, 6, 2) AS INTEGER) + 2) / 3)"
            case .month: "substr(day, 1, 7)"
            case .range: "'\(range.from)..\(range.to)'"
            }
        return try await read { db in
            var sql = """
                SELECT wardId, \(periodSQL) AS period, mode, SUM(promoters), SUM(passives), SUM(detractors), SUM(recommenders)
                FROM \(ResponseStatistics.table) WHERE day >= ? AND day <= ? AND wardId != ''
                """
            var arguments: StatementArguments = [range.from, range.to]
            if let wardId { sql += " AND wardId = ?"; arguments += [wardId] }
            sql += " GROUP BY wardId, period, mode HAVING SUM(recommenders) > 0 ORDER BY wardId, period, mode"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                let promoters: Int = row[3], passives: Int = row[4], detractors: Int = row[5], total: Int = row[6]
                let score = total == 0 ? 0 : (Double(promoters) - Double(detractors)) * 100 / Double(total)
                return NPSRow(
                    wardId: row[0], period: row[1], mode: row[2], promoters: promoters, passives: passives,
                    detractors: detractors, responses: total, nps: (score * 10).rounded() / 10)
            }
        }
    }

    /// Opinions per department (bar chart) and each department's share (pie chart).
    public func opinionsByDepartment(_ caller: Caller, range: DayRange) async throws -> [DepartmentOpinions] {
        try caller.require(.manager, .admin)
        try range.validate(time)
        return try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT o.departmentId, d.name, SUM(o.kind = 'important'), SUM(o.kind = 'praise'), SUM(o.kind = 'suggestion'), COUNT(*)
                    FROM opinion o LEFT JOIN department d ON d.id = o.departmentId
                    WHERE o.at >= ? AND o.at < ? GROUP BY o.departmentId ORDER BY COUNT(*) DESC, o.departmentId
                    """, arguments: [range.from, range.toExclusive])
            let all = rows.reduce(0) { $0 + ($1[5] as Int) }
            return rows.map { row in
                let total: Int = row[5]
                return DepartmentOpinions(
                    departmentId: row[0] ?? "none", name: row[1] ?? "", important: row[2] ?? 0, praise: row[3] ?? 0, suggestion: row[4] ?? 0,
                    total: total, share: all == 0 ? 0 : Double(total) / Double(all))
            }
        }
    }

    /// The praise list or the important-opinions list, newest first, of one department or one
    /// member of staff when given.
    public func opinions(
        _ caller: Caller, kind: OpinionInput.Kind, range: DayRange, page: PageRequest, departmentId: String? = nil, staffId: String? = nil
    ) async throws -> Page<OpinionEntry> {
        try caller.require(.manager, .admin)
        try range.validate(time)
        return try await read { db in
            var sql = "SELECT * FROM opinion WHERE kind = ? AND at >= ? AND at < ?"
            var arguments: StatementArguments = [kind.rawValue, range.from, range.toExclusive]
            if let departmentId { sql += " AND departmentId = ?"; arguments += [departmentId] }
            if let staffId { sql += " AND staffId = ?"; arguments += [staffId] }
            if let after = page.after { sql += " AND id < ?"; arguments += [after] }
            sql += " ORDER BY id DESC LIMIT ?"
            arguments += [page.limit + 1]
            let entries = try Row.fetchAll(db, sql: sql, arguments: arguments).map(OpinionEntry.init(row:))
            return page.page(entries, id: \.id)
        }
    }

    /// Follow-up coverage per task kind for tasks due in the range. A task counts as done when it was
    /// closed with the patient reached (or declining): one closed as not reached (no answer, wrong
    /// number) is due and not done.
    public func coverage(_ caller: Caller, range: DayRange, wardId: String? = nil) async throws -> [CoverageRow] {
        try caller.require(.manager, .admin)
        try range.validate(time)
        return try await read { db in
            let followedUp = "doneAt IS NOT NULL AND outcome IS NOT 'noAnswer' AND outcome IS NOT 'wrongNumber'"
            var sql = """
                SELECT kind, COUNT(*), SUM(\(followedUp)),
                       SUM(\(followedUp) AND ((dueBy IS NOT NULL AND doneAt <= dueBy) OR (dueBy IS NULL AND substr(doneAt, 1, 10) <= dueDate)))
                FROM followUpTask WHERE withdrawn IS NOT 1 AND dueDate >= ? AND dueDate <= ?
                """
            var arguments: StatementArguments = [range.from, range.to]
            if let wardId { sql += " AND wardId = ?"; arguments += [wardId] }
            sql += " GROUP BY kind ORDER BY kind"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                let due: Int = row[1], done: Int = row[2], onTime: Int = row[3] ?? 0
                return CoverageRow(
                    kind: row[0], due: due, done: done, onTime: onTime,
                    doneRate: due == 0 ? 0 : Double(done) / Double(due), onTimeRate: due == 0 ? 0 : Double(onTime) / Double(due))
            }
        }
    }

    /// Open complaints by stage and by age in working days.
    public func complaintAgeing(_ caller: Caller) async throws -> ComplaintAgeing {
        try caller.require(.manager, .admin)
        let calendar = try await crm.organisation.workingCalendar()
        let today = today()
        return try await read { db in
            var ageing = ComplaintAgeing(byStatus: [:], byAge: ["0-2": 0, "3-5": 0, "6-10": 0, "11+": 0], overdue: 0, open: 0)
            for row in try Row.fetchAll(db, sql: "SELECT status, registeredAt, deadline FROM complaint WHERE status != 'closed'") {
                ageing.open += 1
                ageing.byStatus[row["status"] ?? "registered", default: 0] += 1
                let registered = time.dayOfTimestamp(row["registeredAt"] ?? "") ?? today
                let age = calendar.workingDays(from: registered, to: today)
                let bucket = age <= 2 ? "0-2" : age <= 5 ? "3-5" : age <= 10 ? "6-10" : "11+"
                ageing.byAge[bucket, default: 0] += 1
                if let deadline = row["deadline"] as String?, deadline < today { ageing.overdue += 1 }
            }
            return ageing
        }
    }
}
