import Foundation
import GRDB
import Replica

/// What survey results are grouped by in ``CRM/Statistics/results(_:range:by:)``.
public enum ResultGrouping: String, Codable, CaseIterable, Sendable {
    /// The treating doctor of the stay the survey followed up.
    case doctor
    /// That stay's diagnosis code.
    case disease
    /// The department the response names.
    case department
}

/// Survey results of one doctor, disease or department: satisfied (overall 4–5), dissatisfied
/// (1–2), no opinion (3 or not answered).
public struct GroupedResults: Codable, Sendable, Hashable {
    /// The doctor, disease code or department id; empty when the response names none.
    public var key: String
    public var name: String
    public var satisfied: Int
    public var dissatisfied: Int
    public var noOpinion: Int
    public var responses: Int
    public var satisfiedRate: Double { responses == 0 ? 0 : Double(satisfied) / Double(responses) }
}

/// One person's follow-up work in a range of days.
public struct StaffWorkload: Codable, Sendable, Hashable {
    public var userId: String
    public var name: String
    /// Call attempts recorded (every outcome).
    public var calls: Int
    /// Of those, the patient reached.
    public var reached: Int
    /// Survey responses captured (bedside visits and phone surveys).
    public var surveys: Int
    /// Complaint steps recorded.
    public var complaintSteps: Int
}

/// Follow-up coverage of one department: tasks due in the range, done (patient reached or
/// declining), done on time.
public struct DepartmentCoverage: Codable, Sendable, Hashable {
    public var departmentId: String
    public var name: String
    public var due: Int
    public var done: Int
    public var onTime: Int
    public var doneRate: Double { due == 0 ? 0 : Double(done) / Double(due) }
    public var onTimeRate: Double { due == 0 ? 0 : Double(onTime) / Double(due) }
}

extension CRM.Statistics {
    /// Survey results in the range grouped by doctor, disease or department, most responses first.
    /// A response reaches its stay through its follow-up task, else through the patient's latest
    /// stay admitted before the answer.
    public func results(_ caller: Caller, range: DayRange, by grouping: ResultGrouping) async throws -> [GroupedResults] {
        try caller.require(.manager, .admin)
        try range.validate(time)
        let stay = """
            coalesce((SELECT t.encounterId FROM followUpTask t WHERE t.id = r.taskId),
                     (SELECT s.id FROM encounter s WHERE s.patientId = r.patientId AND s.cancelled IS NOT 1 AND s.admittedAt <= r.submittedAt
                      ORDER BY s.admittedAt DESC LIMIT 1))
            """
        let (key, join, names) =
            switch grouping {
            case .doctor: ("e.doctorId", "LEFT JOIN encounter e ON e.id = \(stay)", "staff")
            case .disease: ("e.diagnosisCode", "LEFT JOIN encounter e ON e.id = \(stay)", "disease")
            case .department: ("r.departmentId", "", "department")
            }
        return try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT coalesce(\(key), '') AS k, n.name, SUM(r.overall >= 4), SUM(r.overall <= 2), SUM(r.overall = 3 OR r.overall IS NULL), COUNT(*)
                    FROM surveyResponse r \(join) LEFT JOIN \(names) n ON n.id = \(key)
                    WHERE r.submittedAt >= ? AND r.submittedAt < ? GROUP BY k ORDER BY COUNT(*) DESC, k
                    """, arguments: [range.from, range.toExclusive])
            return rows.map { row in
                GroupedResults(
                    key: row[0], name: row[1] ?? "", satisfied: row[2] ?? 0, dissatisfied: row[3] ?? 0, noOpinion: row[4] ?? 0, responses: row[5])
            }
        }
    }

    /// Each person's calls, reached patients, surveys and complaint steps in the range, busiest first.
    public func workload(_ caller: Caller, range: DayRange) async throws -> [StaffWorkload] {
        try caller.require(.manager, .admin)
        try range.validate(time)
        return try await read { db in
            var work: [String: StaffWorkload] = [:]
            func add(_ sql: String, _ apply: (inout StaffWorkload, Row) -> Void) throws {
                for row in try Row.fetchAll(db, sql: sql, arguments: [range.from, range.toExclusive]) {
                    let user: String = row[0]
                    apply(&work[user, default: StaffWorkload(userId: user, name: "", calls: 0, reached: 0, surveys: 0, complaintSteps: 0)], row)
                }
            }
            try add(
                "SELECT userId, COUNT(*), SUM(outcome = 'reached') FROM followUpRecord WHERE userId IS NOT NULL AND at >= ? AND at < ? GROUP BY userId"
            ) {
                $0.calls = $1[1]
                $0.reached = $1[2] ?? 0
            }
            try add("SELECT staffId, COUNT(*) FROM surveyResponse WHERE staffId IS NOT NULL AND submittedAt >= ? AND submittedAt < ? GROUP BY staffId") {
                $0.surveys = $1[1]
            }
            try add("SELECT userId, COUNT(*) FROM complaintNote WHERE userId IS NOT NULL AND at >= ? AND at < ? GROUP BY userId") {
                $0.complaintSteps = $1[1]
            }
            let names = Dictionary(
                try Row.fetchAll(db, sql: "SELECT id, displayName FROM appUser").map { ($0[0] as String, ($0[1] as String?) ?? "") },
                uniquingKeysWith: { a, _ in a })
            return work.values.map { row in
                var row = row
                row.name = names[row.userId] ?? ""
                return row
            }.sorted { ($0.calls + $0.surveys + $0.complaintSteps, $1.userId) > ($1.calls + $1.surveys + $1.complaintSteps, $0.userId) }
        }
    }

    /// Follow-up coverage per department for tasks due in the range (the same counting as
    /// ``coverage(_:range:wardId:)``).
    public func coverageByDepartment(_ caller: Caller, range: DayRange) async throws -> [DepartmentCoverage] {
        try caller.require(.manager, .admin)
        try range.validate(time)
        return try await read { db in
            let followedUp = "t.doneAt IS NOT NULL AND t.outcome IS NOT 'noAnswer' AND t.outcome IS NOT 'wrongNumber'"
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT coalesce(t.departmentId, ''), d.name, COUNT(*), SUM(\(followedUp)),
                           SUM(\(followedUp) AND ((t.dueBy IS NOT NULL AND t.doneAt <= t.dueBy) OR (t.dueBy IS NULL AND substr(t.doneAt, 1, 10) <= t.dueDate)))
                    FROM followUpTask t LEFT JOIN department d ON d.id = t.departmentId
                    WHERE t.withdrawn IS NOT 1 AND t.dueDate >= ? AND t.dueDate <= ?
                    GROUP BY 1 ORDER BY COUNT(*) DESC, 1
                    """, arguments: [range.from, range.to]
            ).map { row in
                DepartmentCoverage(departmentId: row[0], name: row[1] ?? "", due: row[2], done: row[3] ?? 0, onTime: row[4] ?? 0)
            }
        }
    }
}
