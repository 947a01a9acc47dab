import Foundation
import GRDB
import Replica

/// What can be downloaded as CSV. The first three are also what ``CSVDataset`` imports, in the
/// same columns, so an export imports again unchanged.
public enum ExportDataset: String, Codable, CaseIterable, Sendable {
    case patients, encounters, responses, tasks, followUpRecords, complaints, opinions, sms

    public init(_ dataset: CSVDataset) {
        switch dataset {
        case .patients: self = .patients
        case .encounters: self = .encounters
        case .responses: self = .responses
        }
    }

    /// A replica table exported column by column: (header, column). A header ending in `HisId`
    /// holds a patient id written as the HIS knows it.
    fileprivate var table: (name: String, columns: [(header: String, column: String)])? {
        switch self {
        case .patients, .encounters, .responses: nil
        case .tasks:
            (
                "followUpTask",
                [
                    ("id", "id"), ("patientHisId", "patientId"), ("kind", "kind"), ("dueDate", "dueDate"), ("dueBy", "dueBy"),
                    ("wardId", "wardId"), ("departmentId", "departmentId"), ("templateId", "templateId"), ("ruleId", "ruleId"),
                    ("claimedBy", "claimedBy"), ("attempts", "attempts"), ("outcome", "outcome"), ("nextAction", "nextAction"),
                    ("doneAt", "doneAt"), ("withdrawn", "withdrawn"), ("createdAt", "createdAt"),
                ]
            )
        case .followUpRecords:
            (
                "followUpRecord",
                [
                    ("id", "id"), ("taskId", "taskId"), ("patientHisId", "patientId"), ("outcome", "outcome"), ("note", "note"),
                    ("nextAction", "nextAction"), ("responseId", "responseId"), ("userId", "userId"), ("nodeId", "nodeId"), ("at", "at"),
                ]
            )
        case .complaints:
            (
                "complaint",
                [
                    ("id", "id"), ("patientHisId", "patientId"), ("departmentId", "departmentId"), ("summary", "summary"), ("status", "status"),
                    ("channel", "channel"), ("registeredAt", "registeredAt"), ("deadline", "deadline"), ("handlerId", "handlerId"),
                    ("resolution", "resolution"), ("closedAt", "closedAt"), ("flags", "flags"),
                ]
            )
        case .opinions:
            (
                "opinion",
                [
                    ("id", "id"), ("responseId", "responseId"), ("patientHisId", "patientId"), ("kind", "kind"),
                    ("text", "text"), ("departmentId", "departmentId"), ("staffId", "staffId"), ("wardId", "wardId"), ("mode", "mode"),
                    ("at", "at"), ("escalatedAt", "escalatedAt"), ("escalatedBy", "escalatedBy"), ("escalationNote", "escalationNote"),
                ]
            )
        case .sms:
            (
                "smsMessage",
                [
                    ("id", "id"), ("patientHisId", "patientId"), ("phone", "phone"), ("body", "body"), ("campaignId", "campaignId"),
                    ("scheduledAt", "scheduledAt"), ("status", "status"), ("attempts", "attempts"), ("error", "error"), ("createdAt", "createdAt"),
                ]
            )
        }
    }
}

extension CRM.Patients {
    /// Exports a dataset as CSV (managers and admins), audited with its row count. Patient ids
    /// that are not HIS ids are exported as they are; encounter and response ids without their
    /// binding (``BoundRowID``), as they were imported.
    public func exportCSV(_ caller: Caller, _ dataset: ExportDataset) async throws -> String {
        try caller.require(.manager, .admin)
        let (text, rows): (String, Int) = try await read { db in
            if let table = dataset.table { return try Self.tableCSV(db, table.name, table.columns) }
            return try Self.importableCSV(db, dataset)
        }
        try await crm.auditEvent(caller, "export", dataset.rawValue, "\(rows) rows")
        return text
    }

    /// Every response to one survey template: one column per question (every version's questions,
    /// labelled with the newest text), choices written as their labels. Audited like a dataset.
    public func exportSurvey(_ caller: Caller, templateId: String) async throws -> String {
        try caller.require(.manager, .admin)
        let (text, rows): (String, Int) = try await read { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM surveyTemplate WHERE id = ?", arguments: [templateId]) == true else { throw CRMError.notFound("template", templateId) }
            var definitions: [Int: SurveyDefinition] = [:]
            var questions: [SurveyDefinition.Question] = []
            var position: [String: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT version, definition FROM surveyTemplateVersion WHERE templateId = ? ORDER BY version", arguments: [templateId])
            {
                guard let version = row["version"] as Int?, let json = row["definition"] as String?,
                    let definition = try? JSONDecoder().decode(SurveyDefinition.self, from: Data(json.utf8))
                else { continue }
                definitions[version] = definition
                for question in definition.questions {
                    if let index = position[question.id] {
                        questions[index] = question  // the newest version's wording
                    } else {
                        position[question.id] = questions.count
                        questions.append(question)
                    }
                }
            }
            let labels = questions.map(\.text)
            let repeated = Set(Dictionary(grouping: labels, by: { $0 }).filter { $0.value.count > 1 }.keys)
            var text = CSV.line(
                ["id", "submittedAt", "mode", "patientHisId", "wardId", "departmentId", "staffId", "templateVersion"]
                    + questions.map { repeated.contains($0.text) ? "\($0.text) (\($0.id))" : $0.text })
            let cursor = try Row.fetchCursor(
                db, sql: "SELECT * FROM surveyResponse WHERE templateId = ? ORDER BY submittedAt, id", arguments: [templateId])
            var rows = 0
            while let row = try cursor.next() {
                rows += 1
                let version: Int? = row["templateVersion"]
                let answers = (row["answers"] as String?).flatMap { try? JSONDecoder().decode([String: JSONValue].self, from: Data($0.utf8)) } ?? [:]
                let asked = version.flatMap { definitions[$0] }
                let cells = questions.map { question -> String? in
                    guard let answer = answers[question.id] else { return nil }
                    let options = asked?.questions.first { $0.id == question.id }?.options ?? question.options ?? []
                    return Self.answerText(answer, options: options)
                }
                text += CSV.line(
                    [
                        BoundRowID.base(of: row["id"]), row["submittedAt"], row["mode"], Self.hisID(row["patientId"]), row["wardId"],
                        row["departmentId"], row["staffId"], version.map(String.init),
                    ] + cells)
            }
            return (text, rows)
        }
        try await crm.auditEvent(caller, "export", "survey:\(templateId)", "\(rows) rows")
        return text
    }

    /// An answer as a reader of the export wants it: a choice's label, several joined with "; ".
    static func answerText(_ answer: JSONValue, options: [SurveyDefinition.Option]) -> String? {
        func label(_ value: String) -> String { options.first { $0.value == value }?.label ?? value }
        switch answer {
        case .null: return nil
        case .bool(let flag): return flag ? "true" : "false"
        case .number(let number): return number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
        case .string(let value): return label(value)
        case .array(let items): return items.compactMap { answerText($0, options: options) }.joined(separator: "; ")
        case .object: return nil
        }
    }

    /// A patient id as the HIS knows it (`his-` dropped).
    static func hisID(_ id: String?) -> String? { id.map { $0.hasPrefix("his-") ? String($0.dropFirst(4)) : $0 } }

    /// Every row `sql` selects as one CSV line under `header`, and the row count (not the line
    /// count: a cell may hold line breaks).
    private static func csv(_ db: Database, header: [String], sql: String, _ line: (Row) -> [String?]) throws -> (String, Int) {
        var text = CSV.line(header)
        var rows = 0
        let cursor = try Row.fetchCursor(db, sql: sql)
        while let row = try cursor.next() {
            rows += 1
            text += CSV.line(line(row))
        }
        return (text, rows)
    }

    private static func tableCSV(_ db: Database, _ table: String, _ columns: [(header: String, column: String)]) throws -> (String, Int) {
        try csv(db, header: columns.map(\.header), sql: "SELECT \(columns.map { "\"\($0.column)\"" }.joined(separator: ", ")) FROM \(table) ORDER BY id") {
            row in
            columns.indices.map { index in
                let value: String? =
                    switch row[index] as DatabaseValue {
                    case let value where value.isNull: nil
                    case let value: String.fromDatabaseValue(value) ?? Int64.fromDatabaseValue(value).map(String.init)
                    }
                return columns[index].header.hasSuffix("HisId") ? hisID(value) : value
            }
        }
    }

    private static func importableCSV(_ db: Database, _ dataset: ExportDataset) throws -> (String, Int) {
        switch dataset {
        case .patients:
            return try csv(db, header: CSVDataset.patients.columns, sql: "SELECT * FROM patient ORDER BY id") { row in
                let patient = Patient(row: row)
                return [
                    hisID(patient.id), patient.name, patient.gender, patient.birthDate, patient.idNumber, patient.phone, patient.address,
                    patient.region, patient.category, patient.tags.joined(separator: ";"), patient.firstVisit, patient.contactName, patient.contactPhone,
                ]
            }
        case .encounters:
            return try csv(db, header: CSVDataset.encounters.columns, sql: "SELECT * FROM encounter WHERE cancelled IS NOT 1 ORDER BY id") { row in
                let e = Encounter(row: row)
                return [
                    hisID(BoundRowID.base(of: e.id)), hisID(e.patientId), e.kind, e.departmentId, e.wardId, e.doctorId, e.diagnosisCode, e.admittedAt,
                    e.dischargedAt, e.dischargeStatus, e.bed,
                ]
            }
        default:
            return try csv(db, header: CSVDataset.responses.columns, sql: "SELECT * FROM surveyResponse ORDER BY id") { row in
                let text = { (column: String) -> String? in row[column] }
                let version: Int? = row["templateVersion"]
                return [
                    BoundRowID.base(of: row["id"]), text("templateId"), version.map(String.init), hisID(text("patientId")), text("wardId"),
                    text("departmentId"), text("mode"), text("staffId"), text("submittedAt"), text("answers"),
                ]
            }
        }
    }
}
