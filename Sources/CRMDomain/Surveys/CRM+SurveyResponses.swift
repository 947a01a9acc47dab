import Foundation
import GRDB
import Replica

/// A stored survey response with its answers, as exports and FHIR read it.
public struct StoredSurveyResponse: Codable, Sendable, Hashable {
    public var id: String
    public var templateId: String
    public var templateVersion: Int
    public var patientId: String
    public var wardId: String?
    public var departmentId: String?
    public var mode: String
    public var staffId: String?
    public var submittedAt: String
    public var answers: [String: JSONValue]
}

extension CRM.Surveys {
    /// Responses submitted at or after `since` (ISO-8601 or `yyyy-MM-dd`, local), oldest id first,
    /// paged by id (managers and admins).
    public func responses(_ caller: Caller, since: String?, page: PageRequest) async throws -> Page<StoredSurveyResponse> {
        try caller.require(.manager, .admin)
        let found: Page<StoredSurveyResponse> = try await read { db in
            var sql = "SELECT * FROM surveyResponse WHERE 1"
            var arguments: StatementArguments = []
            if let since {
                sql += " AND submittedAt >= ?"
                arguments += [since]
            }
            if let after = page.after {
                sql += " AND id > ?"
                arguments += [after]
            }
            sql += " ORDER BY id LIMIT ?"
            arguments += [page.limit + 1]
            let items = try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                StoredSurveyResponse(
                    id: row["id"], templateId: row["templateId"] ?? "", templateVersion: row["templateVersion"] ?? 1, patientId: row["patientId"] ?? "",
                    wardId: row["wardId"], departmentId: row["departmentId"], mode: row["mode"] ?? "", staffId: row["staffId"],
                    submittedAt: row["submittedAt"] ?? "",
                    answers: (try? JSONDecoder().decode([String: JSONValue].self, from: Data(((row["answers"] as String?) ?? "{}").utf8))) ?? [:])
            }
            return page.page(items, id: \.id)
        }
        // A bulk read (a FHIR reader paging through responses) leaves a trace like an archive read.
        try await crm.auditEvent(caller, "responses.read", "surveyResponse", "\(found.items.count) after \(found.items.first?.id ?? "-")")
        return found
    }
}
