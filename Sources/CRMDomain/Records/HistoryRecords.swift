import GRDB
import Replica

/// Rows of the append-only history tables, as the policy files declare them (`admin.policy`,
/// `complaints.policy`, `encounters.policy`, `followups.policy`).

/// Who changed what, when and on which node (`auditEntry`). Never holds patient data.
struct AuditRecord: ReplicatedRecord, Codable {
    static let databaseTableName = "auditEntry"
    var id: String?
    var at: String
    var nodeId: String?
    var userId: String?
    var action: String
    var entity: String?
    var entityId: String?
}

/// A step of a complaint, with its note (`complaintNote`).
struct ComplaintNoteRecord: ReplicatedRecord, Codable {
    static let databaseTableName = "complaintNote"
    var id: String?
    var complaintId: String
    var status: String
    var note: String
    var userId: String
    var nodeId: String
    var at: String
}

/// An admission, transfer, discharge or visit as it happened (`encounterEvent`).
struct EncounterEventRecord: ReplicatedRecord, Codable {
    static let databaseTableName = "encounterEvent"
    var id: String?
    var encounterId: String
    var patientId: String
    var kind: String
    var at: String
    var fromWardId: String?
    var toWardId: String?
    var userId: String
    var nodeId: String
}

/// One attempt at a follow-up task (`followUpRecord`).
struct FollowUpAttemptRecord: ReplicatedRecord, Codable {
    static let databaseTableName = "followUpRecord"
    var id: String?
    var taskId: String
    var patientId: String
    var outcome: String
    var note: String?
    var nextAction: String?
    var responseId: String?
    var userId: String
    var nodeId: String
    var at: String
}
