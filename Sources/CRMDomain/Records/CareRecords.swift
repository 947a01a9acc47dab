import GRDB
import Replica

/// Rows of admissions, follow-up tasks and text messages, as the policy files declare them.

/// An admission or an outpatient visit (`encounter`).
struct EncounterRecord: UpdatableRecord, Codable {
    static let databaseTableName = "encounter"
    var id: String?
    var patientId: String
    var kind: String
    var departmentId: String?
    var wardId: String?
    var doctorId: String?
    var diagnosisCode: String?
    var admittedAt: String
    var dischargedAt: String?
    var dischargeStatus: String?
    var cancelled: Int
    var bed: String?
    enum CodingKeys: String, CodingKey {
        case id, patientId, kind, departmentId, wardId, doctorId, diagnosisCode, admittedAt, dischargedAt, dischargeStatus, cancelled, bed
    }
    typealias Columns = CodingKeys
}

/// A follow-up task: a bedside visit, a call, a rule's or a one-off (`followUpTask`).
struct FollowUpTaskRecord: UpdatableRecord, Codable {
    static let databaseTableName = "followUpTask"
    var id: String?
    var patientId: String
    var kind: String
    var dueDate: String
    var dueBy: String?
    var encounterId: String?
    var ruleId: String?
    var triggerEvent: String
    var templateId: String?
    var wardId: String?
    var departmentId: String?
    var note: String?
    var claimedBy: String?
    var attempts: Int
    var outcome: String?
    var nextAction: String?
    var doneAt: String?
    var withdrawn: Int
    var createdAt: String
    enum CodingKeys: String, CodingKey {
        case id, patientId, kind, dueDate, dueBy, encounterId, ruleId, triggerEvent, templateId, wardId, departmentId, note, claimedBy, attempts, outcome, nextAction, doneAt,
            withdrawn, createdAt
    }
    typealias Columns = CodingKeys
}

/// A text message to a patient (`smsMessage`).
struct SMSMessageRecord: UpdatableRecord, Codable {
    static let databaseTableName = "smsMessage"
    var id: String?
    var patientId: String?
    var phone: String?
    var body: String
    var campaignId: String?
    var scheduledAt: String
    var status: String
    var attempts: Int
    var gatewayRef: String?
    var error: String?
    var createdAt: String
    var sentAt: String?
    var deliveredAt: String?
    enum CodingKeys: String, CodingKey {
        case id, patientId, phone, body, campaignId, scheduledAt, status, attempts, gatewayRef, error, createdAt, sentAt, deliveredAt
    }
    typealias Columns = CodingKeys
}

/// A campaign to an audience (`smsCampaign`).
struct SMSCampaignRecord: ReplicatedRecord, Codable {
    static let databaseTableName = "smsCampaign"
    var id: String?
    var name: String
    var templateId: String
    var audience: String
    var audienceCount: Int
    var scheduledAt: String
    var userId: String
    var createdAt: String
}

/// A patient's archive card (`patient`).
struct PatientRecord: UpdatableRecord, Codable {
    static let databaseTableName = "patient"
    var id: String?
    var name: String?
    var gender: String?
    var birthDate: String?
    var idNumber: String?
    var phone: String?
    var address: String?
    var region: String?
    var category: String?
    /// ``SetCodec/text(_:)`` of the tags.
    var tags: String
    var firstVisit: String?
    var createdAt: String
    var contactName: String?
    var contactPhone: String?
    enum CodingKeys: String, CodingKey {
        case id, name, gender, birthDate, idNumber, phone, address, region, category, tags, firstVisit, createdAt, contactName, contactPhone
    }
    typealias Columns = CodingKeys
}

/// An invitation to answer a survey from an SMS link (`surveyInvitation`); its id is the SMS's.
struct SurveyInvitationRecord: UpdatableRecord, Codable {
    static let databaseTableName = "surveyInvitation"
    var id: String?
    var patientId: String
    var templateId: String
    var departmentId: String?
    var wardId: String?
    var taskId: String?
    var expiresAt: String
    var responseId: String?
    var createdAt: String
    enum CodingKeys: String, CodingKey {
        case id, patientId, templateId, departmentId, wardId, taskId, expiresAt, responseId, createdAt
    }
    typealias Columns = CodingKeys
}
