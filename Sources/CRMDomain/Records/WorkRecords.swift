import GRDB
import Replica

/// Rows the daily workflows create, as the policy files declare them.

/// A complaint (`complaint`); its steps are ``ComplaintNoteRecord``s.
struct ComplaintRecord: UpdatableRecord, Codable {
    static let databaseTableName = "complaint"
    var id: String?
    var patientId: String?
    var departmentId: String?
    var summary: String
    var status: String
    var registeredAt: String
    var deadline: String?
    var channel: String?
    var handlerId: String?
    var resolution: String?
    var closedAt: String?
    /// An add-wins set: ``SetCodec``'s text.
    var flags: String
    enum CodingKeys: String, CodingKey {
        case id, patientId, departmentId, summary, status, registeredAt, deadline, channel, handlerId, resolution, closedAt, flags
    }
    typealias Columns = CodingKeys
}

/// A consultation taken by an agent (`consultation`).
struct ConsultationRecord: UpdatableRecord, Codable {
    static let databaseTableName = "consultation"
    var id: String?
    var patientId: String?
    var phone: String?
    var topic: String
    var content: String
    var handling: String?
    var status: String
    var userId: String
    var at: String
    var departmentId: String?
    enum CodingKeys: String, CodingKey {
        case id, patientId, phone, topic, content, handling, status, userId, at, departmentId
    }
    typealias Columns = CodingKeys
}

/// A booked visit or examination (`appointment`).
struct AppointmentRecord: UpdatableRecord, Codable {
    static let databaseTableName = "appointment"
    var id: String?
    var patientId: String
    var kind: String
    var departmentId: String?
    var doctorId: String?
    var scheduledAt: String
    var status: String
    var confirmedAt: String?
    var userId: String
    var createdAt: String
    enum CodingKeys: String, CodingKey {
        case id, patientId, kind, departmentId, doctorId, scheduledAt, status, confirmedAt, userId, createdAt
    }
    typealias Columns = CodingKeys
}

/// An opinion flagged in a survey response (`opinion`); managers regrade it (`kind`) and report it up.
struct OpinionRecord: UpdatableRecord, Codable {
    static let databaseTableName = "opinion"
    var id: String?
    var responseId: String
    var patientId: String?
    var kind: String
    var text: String
    var departmentId: String?
    var staffId: String?
    var wardId: String?
    var mode: String?
    var at: String
    var escalatedAt: String? = nil
    var escalatedBy: String? = nil
    var escalationNote: String? = nil
    enum CodingKeys: String, CodingKey {
        case id, responseId, patientId, kind, text, departmentId, staffId, wardId, mode, at, escalatedAt, escalatedBy, escalationNote
    }
    typealias Columns = CodingKeys
}

/// Two archives merged into one (`patientMerge`).
struct PatientMergeRecord: UpdatableRecord, Codable {
    static let databaseTableName = "patientMerge"
    var id: String?
    var survivorId: String
    var mergedId: String
    var reason: String?
    var mergedAt: String
    var mergedBy: String
    var undone: Int
    var undoneAt: String?
    var undoneBy: String?
    enum CodingKeys: String, CodingKey {
        case id, survivorId, mergedId, reason, mergedAt, mergedBy, undone, undoneAt, undoneBy
    }
    typealias Columns = CodingKeys
}

/// A text message a patient sent (`smsInbound`).
struct SMSInboundRecord: ReplicatedRecord, Codable {
    static let databaseTableName = "smsInbound"
    var id: String?
    var phone: String
    var body: String
    var receivedAt: String
}

/// One version of a survey template's questions (`surveyTemplateVersion`).
struct SurveyTemplateVersionRecord: ReplicatedRecord, Codable {
    static let databaseTableName = "surveyTemplateVersion"
    var id: String?
    var templateId: String
    var version: Int
    var definition: String
    var createdAt: String
    var createdBy: String
}

/// A survey template's header (`surveyTemplate`); its questions are versions of their own.
struct SurveyTemplateRecord: ReplicatedRecord, Codable {
    static let databaseTableName = "surveyTemplate"
    static let columnsKeptOnUpdate: Set<String> = ["createdAt"]
    var id: String?
    var name: String
    var purpose: String?
    var diseaseCode: String?
    var currentVersion: Int
    var active: Int
    var createdAt: String
}

/// A submitted survey (`surveyResponse`, append-only).
struct SurveyResponseRecord: ReplicatedRecord, Codable {
    static let databaseTableName = "surveyResponse"
    var id: String?
    var templateId: String
    var templateVersion: Int
    var patientId: String
    var wardId: String?
    var departmentId: String?
    var mode: String
    var staffId: String?
    var nodeId: String
    var taskId: String?
    var startedAt: String?
    var submittedAt: String
    /// The canonical JSON of the answers.
    var answers: String
    var overall: Int?
    var recommend: Int?
}

/// A follow-up rule (`followUpRule`).
struct FollowUpRuleRecord: ReplicatedRecord, Codable {
    static let databaseTableName = "followUpRule"
    static let columnsKeptOnUpdate: Set<String> = ["createdAt"]
    var id: String?
    var name: String
    var kind: String
    var triggerEvent: String
    /// Day offsets, comma-separated.
    var offsets: String?
    var intervalDays: Int?
    var repeatCount: Int?
    /// The JSON of the rule's filter.
    var filter: String
    var templateId: String?
    var active: Int
    var createdAt: String
    var intervalMonths: Int?
    var action: String?
    var smsTemplateId: String?
}
