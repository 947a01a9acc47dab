import Foundation
import GRDB
import Replica

/// Who a group send goes to: patients with an encounter matching every given criterion (and all
/// patients when only `regions` / `categories` are given). Opted-out and blacklisted numbers,
/// merged-away archives and patients without a phone are always left out.
public struct SMSAudience: Codable, Sendable, Hashable {
    /// ICD-10 prefixes.
    public var diseases: [String]?
    public var regions: [String]?
    public var categories: [String]?
    public var departments: [String]?
    public var doctors: [String]?
    public var dischargeStatuses: [DischargeStatus]?
    /// Discharged on or after this day (yyyy-MM-dd).
    public var dischargedSince: String?
    /// Discharged on or before this day (yyyy-MM-dd).
    public var dischargedUntil: String?

    public init(
        diseases: [String]? = nil, regions: [String]? = nil, categories: [String]? = nil, departments: [String]? = nil,
        doctors: [String]? = nil, dischargeStatuses: [DischargeStatus]? = nil, dischargedSince: String? = nil, dischargedUntil: String? = nil
    ) {
        self.diseases = diseases
        self.regions = regions
        self.categories = categories
        self.departments = departments
        self.doctors = doctors
        self.dischargeStatuses = dischargeStatuses
        self.dischargedSince = dischargedSince
        self.dischargedUntil = dischargedUntil
    }

    var needsEncounter: Bool {
        [diseases, departments, doctors, dischargeStatuses?.map(\.rawValue)].contains { !($0 ?? []).isEmpty } || dischargedSince != nil || dischargedUntil != nil
    }

    func validate(time: LocalTime) throws(CRMError) {
        for day in [dischargedSince, dischargedUntil].compactMap({ $0 }) where !time.isDay(day) {
            throw .invalid("audience: discharge days must be yyyy-MM-dd")
        }
        let lists = [diseases, regions, categories, departments, doctors].compactMap { $0 }
        guard lists.allSatisfy({ $0.count <= 100 && $0.allSatisfy { !$0.isEmpty && $0.count <= 50 } }) else {
            throw .invalid("audience lists hold at most 100 entries of 1–50 characters")
        }
        if let dischargeStatuses, dischargeStatuses.count > 100 { throw .invalid("audience: at most 100 discharge statuses") }
    }

    /// (patient id, phone) of everyone in the audience, ordered by patient id.
    func recipients(_ db: Database, graph: MergeGraph) throws -> [(patientId: String, phone: String)] {
        var sql = "SELECT DISTINCT p.id, p.phone FROM patient p"
        var conditions = [
            "p.phone IS NOT NULL",
            "NOT EXISTS (SELECT 1 FROM smsOptOut o WHERE o.id = p.phone AND o.active = 1)",
            "NOT EXISTS (SELECT 1 FROM blacklist b WHERE b.id = p.phone AND b.active = 1)",
        ]
        var arguments: StatementArguments = []
        func inList(_ column: String, _ values: [String]?) {
            guard let values, !values.isEmpty else { return }
            conditions.append("\(column) IN (\(databaseQuestionMarks(count: values.count)))")
            arguments += StatementArguments(values)
        }
        if needsEncounter {
            sql += " JOIN encounter e ON e.patientId = p.id AND e.cancelled IS NOT 1"
            if let diseases, !diseases.isEmpty {
                conditions.append("(" + diseases.map { _ in "e.diagnosisCode LIKE ? ESCAPE '\\'" }.joined(separator: " OR ") + ")")
                arguments += StatementArguments(diseases.map { $0.replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%" })
            }
            inList("e.departmentId", departments)
            inList("e.doctorId", doctors)
            inList("e.dischargeStatus", dischargeStatuses?.map(\.rawValue))
            if let dischargedSince { conditions.append("e.dischargedAt >= ?"); arguments += [dischargedSince] }
            if let dischargedUntil { conditions.append("e.dischargedAt < ?"); arguments += [dischargedUntil + "T99"] }
        }
        inList("p.region", regions)
        inList("p.category", categories)
        sql += " WHERE " + conditions.joined(separator: " AND ") + " ORDER BY p.id"
        return try Row.fetchAll(db, sql: sql, arguments: arguments).compactMap { row in
            let id: String = row["id"]
            return graph.isMergedAway(id) ? nil : (id, row["phone"])
        }
    }
}
