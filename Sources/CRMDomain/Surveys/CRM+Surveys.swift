import Foundation
import GRDB
import Replica

/// A survey template and one of its versions.
public struct SurveyTemplate: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var purpose: String?
    public var diseaseCode: String?
    public var version: Int
    public var currentVersion: Int
    public var active: Bool
    public var definition: SurveyDefinition
}

/// A survey as submitted by a tablet, a phone agent, an SMS link or a kiosk.
public struct SurveySubmission: Codable, Sendable {
    /// Made by the capturing device (a ULID); submitting again with the same id and content is accepted once.
    public var id: String
    public var templateId: String
    public var templateVersion: Int
    public var patientId: String
    public var wardId: String?
    public var departmentId: String?
    public var mode: SurveyMode
    public var staffId: String?
    public var taskId: String?
    public var startedAt: String?
    public var submittedAt: String
    public var answers: [String: JSONValue]
    public var opinions: [OpinionInput]?

    public init(
        id: String, templateId: String, templateVersion: Int, patientId: String, wardId: String? = nil, departmentId: String? = nil,
        mode: SurveyMode, staffId: String? = nil, taskId: String? = nil, startedAt: String? = nil, submittedAt: String,
        answers: [String: JSONValue], opinions: [OpinionInput]? = nil
    ) {
        self.id = id
        self.templateId = templateId
        self.templateVersion = templateVersion
        self.patientId = patientId
        self.wardId = wardId
        self.departmentId = departmentId
        self.mode = mode
        self.staffId = staffId
        self.taskId = taskId
        self.startedAt = startedAt
        self.submittedAt = submittedAt
        self.answers = answers
        self.opinions = opinions
    }
}

/// An opinion to flag: important (重要意见), praise (表扬) or a suggestion.
public struct OpinionInput: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable { case important, praise, suggestion }
    public var kind: Kind
    public var text: String
    public var departmentId: String?
    public var staffId: String?

    public init(kind: Kind, text: String, departmentId: String? = nil, staffId: String? = nil) {
        self.kind = kind
        self.text = text
        self.departmentId = departmentId
        self.staffId = staffId
    }
}

/// What submitting did.
public struct SubmissionReceipt: Codable, Sendable, Hashable {
    public var id: String
    /// False when the same response had already been accepted.
    public var created: Bool
}

extension CRM.Surveys {
    /// Saves a template's questions as its next version (managers). Returns the version number.
    public func saveTemplate(_ caller: Caller, id: String, name: String, purpose: String?, diseaseCode: String?, definition: SurveyDefinition) async throws -> Int {
        if caller != .system { try caller.require(.manager, .admin) }
        guard ASCIIIdentifier.clientID.admits(id) else {
            throw CRMError.invalid("template id must be 1–40 of A-Z, a-z, 0-9, '_' or '-'")
        }
        guard !name.isEmpty, name.count <= 100 else { throw CRMError.invalid("name must be 1–100 characters") }
        // A per-disease template is chosen for encounters whose diagnosis starts with its code.
        let diseaseCode = diseaseCode?.isEmpty == true ? nil : diseaseCode
        if let diseaseCode, !ASCIIIdentifier(punctuation: "._-", length: 1...20).admits(diseaseCode) {
            throw CRMError.invalid("diseaseCode must be an ICD-10 code or prefix: 1–20 of A-Z, a-z, 0-9, '.', '_' or '-'")
        }
        try definition.validate()
        let text = String(decoding: try JSONEncoder().encode(definition), as: UTF8.self)
        return try await change(caller, "template.save", "surveyTemplate") { tx in
            let current = try Int.fetchOne(tx.db, sql: "SELECT currentVersion FROM surveyTemplate WHERE id = ?", arguments: [id])
            // `currentVersion` merges under `max`: a number at its limit is refused, not trapped on.
            guard (current ?? 0) < 1_000_000 else { throw CRMError.conflict("template '\(id)' has no next version") }
            let version = (current ?? 0) + 1
            try tx.insert(
                SurveyTemplateVersionRecord(
                    id: "\(id):\(version)", templateId: id, version: version, definition: text, createdAt: timestamp(), createdBy: caller.userId))
            try tx.upsert(
                SurveyTemplateRecord(
                    id: id, name: name, purpose: purpose, diseaseCode: diseaseCode, currentVersion: version, active: 1, createdAt: timestamp()))
            return (version, id)
        }
    }

    /// A template at a version (its current one when nil).
    public func template(_ id: String, version: Int? = nil) async throws -> SurveyTemplate {
        try await read { db in try Self.template(db, id, version: version) }
    }

    static func template(_ db: Database, _ id: String, version: Int?) throws -> SurveyTemplate {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM surveyTemplate WHERE id = ?", arguments: [id]) else {
            throw CRMError.notFound("template", id)
        }
        let current: Int = row["currentVersion"] ?? 1
        let wanted = version ?? current
        guard let text = try String.fetchOne(db, sql: "SELECT definition FROM surveyTemplateVersion WHERE id = ?", arguments: ["\(id):\(wanted)"]),
            let definition = try? JSONDecoder().decode(SurveyDefinition.self, from: Data(text.utf8))
        else {
            throw CRMError.notFound("template version", "\(id):\(wanted)")
        }
        return SurveyTemplate(
            id: id, name: row["name"] ?? "", purpose: row["purpose"], diseaseCode: row["diseaseCode"], version: wanted,
            currentVersion: current, active: (row["active"] as Int?) == 1, definition: definition)
    }

    /// Every template at its current version.
    /// The template a survey of `purpose` (`bedside`, `discharge`) uses for a patient with this
    /// diagnosis (per-disease templates): the active one whose disease code is the longest prefix of
    /// the diagnosis, else the active one for every disease, else any active one of that purpose,
    /// else the active template whose id is the purpose.
    /// - Throws: `notFound` when there is no active template of that purpose.
    public func surveyTemplate(purpose: String, diagnosisCode: String?) async throws -> SurveyTemplate {
        let candidates = try await templates().filter { $0.active && $0.purpose == purpose }
        let diagnosis = diagnosisCode?.uppercased() ?? ""
        let matching = candidates.filter { template in
            guard let code = template.diseaseCode, !code.isEmpty else { return false }
            return diagnosis.hasPrefix(code.uppercased())
        }
        if let best = matching.max(by: { ($0.diseaseCode?.count ?? 0, $1.id) < ($1.diseaseCode?.count ?? 0, $0.id) }) { return best }
        if let general = candidates.first(where: { ($0.diseaseCode ?? "").isEmpty }) ?? candidates.first { return general }
        // A template saved without a purpose but named after it (`bedside`) still serves.
        if let named = try await templates().first(where: { $0.active && $0.id == purpose }) { return named }
        throw CRMError(.notFound, "no active '\(purpose.prefix(20))' survey template; a manager creates one first")
    }

    public func templates() async throws -> [SurveyTemplate] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT id FROM surveyTemplate ORDER BY id").map { try Self.template(db, $0, version: nil) }
        }
    }

    /// Submits a survey response. Answers are checked against the template version it was captured
    /// with. The same id with the same content is accepted once; with other content it is refused.
    /// With a `taskId`, the task is recorded as reached with this response.
    public func submit(_ caller: Caller, _ submission: SurveySubmission) async throws -> SubmissionReceipt {
        try caller.require(.visitor, .agent, .manager)
        return try await replica.write { tx in try submit(tx, caller, submission) }
    }

    /// ``submit(_:_:)`` inside a transaction (imports run many in one).
    func submit(_ tx: ReplicaTransaction, _ caller: Caller, _ submission: SurveySubmission) throws -> SubmissionReceipt {
        guard ASCIIIdentifier(punctuation: "_-", length: 10...40).admits(submission.id) else {
            throw CRMError.invalid("id must be 10–40 of A-Z, a-z, 0-9, '_' or '-' (a ULID made by the device)")
        }
        guard let submittedAt = time.normalizedTimestamp(submission.submittedAt) else { throw CRMError.invalid("submittedAt must be an ISO-8601 date-time") }
        let startedAt = try submission.startedAt.map { text throws(CRMError) in
            guard let stamp = time.normalizedTimestamp(text) else { throw .invalid("startedAt must be an ISO-8601 date-time") }
            return stamp
        }
        let opinions = submission.opinions ?? []
        guard opinions.count <= 20, opinions.allSatisfy({ !$0.text.isEmpty && $0.text.count <= 2000 }) else {
            throw CRMError.invalid("opinions: at most 20, each 1–2000 characters")
        }
        if caller.role == .visitor {
            // A bedside visitor surveys the patients of its own ward, for its own ward.
            try crm.requireReach(caller, ward: submission.wardId)
            try crm.requireReach(caller, patient: submission.patientId, tx.db)
        }
        let answersText = JSONValue.object(submission.answers).canonicalText
        let template = try Self.template(tx.db, submission.templateId, version: submission.templateVersion)
        try template.definition.validate(answers: submission.answers)
        let staff = submission.staffId ?? caller.userId
        // The device's id, bound as this node must bind it (``BoundRowID``): resubmitting finds it again.
        let responseID = try replica.boundID(submission.id, table: "surveyResponse", ward: submission.wardId)
        let record = SurveyResponseRecord(
            id: responseID, templateId: submission.templateId, templateVersion: submission.templateVersion, patientId: submission.patientId,
            wardId: submission.wardId, departmentId: submission.departmentId, mode: submission.mode.rawValue, staffId: staff,
            nodeId: nodeID, taskId: submission.taskId, startedAt: startedAt, submittedAt: submittedAt, answers: answersText,
            overall: template.definition.score(.overall, in: submission.answers),
            recommend: template.definition.score(.recommend, in: submission.answers))
        if let existing = try Row.fetchOne(tx.db, sql: "SELECT * FROM surveyResponse WHERE id = ?", arguments: [responseID]) {
            // The same content again (another node's copy keeps its own nodeId; a resubmission without a staff id keeps the first).
            let same = try record.databaseDictionary.allSatisfy { key, value in
                key == "id" || key == "nodeId" || (key == "staffId" && submission.staffId == nil) ? true : (existing[key] as DatabaseValue) == value
            }
            guard same else { throw CRMError.conflict("response '\(submission.id)' was already submitted with different content") }
            return SubmissionReceipt(id: responseID, created: false)
        }
        guard try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM patient WHERE id = ?", arguments: [submission.patientId]) == true else {
            throw CRMError.notFound("patient", submission.patientId)
        }
        try tx.insert(record)
        for (index, opinion) in opinions.enumerated() {
            let opinionID = "\(submission.id)-\(index)"
            try tx.insert(
                OpinionRecord(
                    id: submission.wardId.map { BoundRowID.bind(opinionID, toWard: $0) } ?? opinionID, responseId: responseID,
                    patientId: submission.patientId, kind: opinion.kind.rawValue, text: opinion.text,
                    departmentId: opinion.departmentId ?? submission.departmentId, staffId: opinion.staffId, wardId: submission.wardId,
                    mode: submission.mode.rawValue, at: submittedAt))
        }
        try crm.audit(tx, caller, "survey.submit", "surveyResponse", responseID)
        if let taskId = submission.taskId {
            try completeTask(tx, caller, taskId: taskId, patientId: submission.patientId, responseID: responseID)
        }
        return SubmissionReceipt(id: responseID, created: true)
    }

    /// Marks an open task as reached with a response (same transaction as the response).
    private func completeTask(_ tx: ReplicaTransaction, _ caller: Caller, taskId: String, patientId: String, responseID: String) throws {
        guard let row = try Row.fetchOne(tx.db, sql: "SELECT * FROM followUpTask WHERE id = ?", arguments: [taskId]) else {
            throw CRMError.notFound("task", taskId)
        }
        let task = FollowUpTask(row: row)
        // The response answers this patient's task; a visitor's, a task of its own ward; a task
        // another user claimed is theirs to record.
        guard task.patientId == patientId, caller.role != .visitor || caller.isOwnWard(task.wardId) else { throw CRMError.notFound("task", taskId) }
        if let holder = task.claimedBy, holder != caller.userId, task.doneAt == nil {
            throw CRMError.conflict("task '\(taskId)' is claimed by '\(holder)'")
        }
        guard task.doneAt == nil, !task.withdrawn else { return }
        let at = timestamp()
        try tx.insert(
            FollowUpAttemptRecord(
                taskId: taskId, patientId: task.patientId, outcome: FollowUpOutcome.reached.rawValue, responseId: responseID, userId: caller.userId,
                nodeId: nodeID, at: at))
        var values: [FollowUpTaskRecord.Columns: (any DatabaseValueConvertible)?] = [.attempts: task.attempts + 1, .outcome: FollowUpOutcome.reached.rawValue, .doneAt: at]
        if task.claimedBy == nil { values[.claimedBy] = caller.userId }
        try tx.update(FollowUpTaskRecord.self, id: taskId, values)
    }

    /// Flags an opinion after the fact (a manager reading responses), or re-flags one.
    public func flagOpinion(_ caller: Caller, responseId: String, _ opinion: OpinionInput) async throws -> String {
        try caller.require(.manager, .agent)
        guard !opinion.text.isEmpty, opinion.text.count <= 2000 else { throw CRMError.invalid("text must be 1–2000 characters") }
        return try await change(caller, "opinion.flag", "opinion") { tx in
            guard let response = try Row.fetchOne(tx.db, sql: "SELECT * FROM surveyResponse WHERE id = ?", arguments: [responseId]) else {
                throw CRMError.notFound("survey response", responseId)
            }
            let id = try tx.insert(
                OpinionRecord(
                    responseId: responseId, patientId: response["patientId"], kind: opinion.kind.rawValue, text: opinion.text,
                    departmentId: opinion.departmentId ?? response["departmentId"], staffId: opinion.staffId, wardId: response["wardId"],
                    mode: response["mode"], at: timestamp()))
            return (id, id)
        }
    }
}
