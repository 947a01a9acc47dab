import Foundation
import GRDB
import Replica

/// Everything about one patient (客户健康档案): the cards merged into it and every record that
/// points at any of them, whichever node wrote it.
public struct PatientArchive: Codable, Sendable {
    public var patient: Patient
    /// Set when the asked-for id was merged away and this is its survivor's archive.
    public var redirectedFrom: String?
    /// Cards merged into this one (their records are listed here too).
    public var mergedPatients: [Patient]
    public var merges: [PatientMerge]
    public var encounters: [Encounter]
    public var encounterEvents: [EncounterEvent]
    public var tasks: [FollowUpTask]
    public var followUpRecords: [FollowUpRecord]
    public var surveyResponses: [ResponseSummary]
    public var opinions: [OpinionEntry]
    public var complaints: [Complaint]
    public var consultations: [Consultation]
    public var appointments: [Appointment]
    public var sms: [SMSMessage]
    /// Contact details edited on two nodes at once, waiting for a person to choose.
    public var openConflicts: [ConflictEntry]
}

/// One attempt at a follow-up.
public struct FollowUpRecord: Codable, Sendable, Hashable {
    public var id: String
    public var taskId: String
    public var outcome: String
    public var note: String?
    public var nextAction: String?
    public var responseId: String?
    public var userId: String?
    public var nodeId: String?
    public var at: String
}

/// A survey response in an archive.
public struct ResponseSummary: Codable, Sendable, Hashable {
    public var id: String
    public var templateId: String
    public var templateVersion: Int
    public var mode: String
    public var wardId: String?
    public var staffId: String?
    public var nodeId: String?
    public var submittedAt: String
    public var overall: Int?
    public var recommend: Int?
    public var answers: String
}

/// A keep-both conflict in the inbox.
public struct ConflictEntry: Codable, Sendable, Hashable {
    public var table: String
    public var rowId: String
    public var column: String
    public var values: [String]
}

extension CRM.Patients {
    /// A patient's whole archive, following merges: asking for a merged-away id gives its survivor's.
    public func archive(_ caller: Caller, patientId: String) async throws -> PatientArchive {
        try caller.require(.visitor, .agent, .manager, .admin)
        let conflicts = try replica.openConflicts()
        let archive: PatientArchive = try await read { db in
            let graph = try Self.mergeGraph(db)
            let root = graph.root(of: patientId)
            try crm.requireReach(caller, patient: root, db)
            guard let card = try Row.fetchOne(db, sql: "SELECT * FROM patient WHERE id = ?", arguments: [root]).map({ Patient(row: $0).masked(for: caller) }) else {
                throw CRMError.notFound("patient", patientId)
            }
            let ids = graph.members(of: root)
            let marks = databaseQuestionMarks(count: ids.count)
            let args = StatementArguments(ids)
            func rows(_ sql: String) throws -> [Row] { try Row.fetchAll(db, sql: sql, arguments: args) }
            let merged = try rows("SELECT * FROM patient WHERE id IN (\(marks)) ORDER BY id").map { Patient(row: $0).masked(for: caller) }.filter { $0.id != root }
            let complaints = try rows("SELECT * FROM complaint WHERE patientId IN (\(marks)) ORDER BY registeredAt DESC").map { try crm.complaints.complaint(db, $0) }
            return PatientArchive(
                patient: card, redirectedFrom: root == patientId ? nil : patientId, mergedPatients: merged,
                merges: try merges(db, touching: ids + [patientId], graph: graph),
                encounters: try rows("SELECT * FROM encounter WHERE patientId IN (\(marks)) ORDER BY admittedAt DESC").map(Encounter.init(row:)),
                encounterEvents: try rows("SELECT * FROM encounterEvent WHERE patientId IN (\(marks)) ORDER BY at DESC").map {
                    EncounterEvent(
                        id: $0["id"], encounterId: $0["encounterId"], kind: $0["kind"], at: $0["at"], fromWardId: $0["fromWardId"],
                        toWardId: $0["toWardId"], userId: $0["userId"])
                },
                tasks: try rows("SELECT * FROM followUpTask WHERE patientId IN (\(marks)) ORDER BY dueDate DESC").map(FollowUpTask.init(row:)),
                followUpRecords: try rows("SELECT * FROM followUpRecord WHERE patientId IN (\(marks)) ORDER BY at DESC").map {
                    FollowUpRecord(
                        id: $0["id"], taskId: $0["taskId"], outcome: $0["outcome"], note: $0["note"], nextAction: $0["nextAction"],
                        responseId: $0["responseId"], userId: $0["userId"], nodeId: $0["nodeId"], at: $0["at"])
                },
                surveyResponses: try rows("SELECT * FROM surveyResponse WHERE patientId IN (\(marks)) ORDER BY submittedAt DESC").map {
                    ResponseSummary(
                        id: $0["id"], templateId: $0["templateId"], templateVersion: $0["templateVersion"] ?? 0, mode: $0["mode"],
                        wardId: $0["wardId"], staffId: $0["staffId"], nodeId: $0["nodeId"], submittedAt: $0["submittedAt"],
                        overall: $0["overall"], recommend: $0["recommend"], answers: $0["answers"] ?? "{}")
                },
                opinions: try rows("SELECT * FROM opinion WHERE patientId IN (\(marks)) ORDER BY at DESC").map(OpinionEntry.init(row:)),
                complaints: complaints,
                consultations: try rows("SELECT * FROM consultation WHERE patientId IN (\(marks)) ORDER BY at DESC").map {
                    Consultation(row: $0)
                },
                appointments: try rows("SELECT * FROM appointment WHERE patientId IN (\(marks)) ORDER BY scheduledAt DESC").map(Appointment.init(row:)),
                sms: try rows("SELECT * FROM smsMessage WHERE patientId IN (\(marks)) ORDER BY createdAt DESC").map(CRM.SMS.smsMessage),
                // A visitor resolves no conflicts, and the candidates are whole phone numbers and addresses.
                openConflicts: caller.role == .visitor ? [] : conflicts.filter { $0.table == "patient" && ids.contains($0.key) }.map(Self.conflictEntry))
        }
        // Who opened which archive (the id only).
        try await crm.auditEvent(caller, "patient.read", "patient", archive.patient.id)
        return archive
    }

    static func conflictEntry(_ conflict: OpenConflict) -> ConflictEntry {
        ConflictEntry(
            table: conflict.table, rowId: conflict.key, column: conflict.column,
            values: conflict.candidates.map { candidate in
                switch candidate.value.storage {
                case .string(let text): text
                case .int64(let value): String(value)
                case .double(let value): String(value)
                default: ""
                }
            })
    }

    /// The conflict inbox: every keep-both conflict waiting for a person (managers).
    public func conflictInbox(_ caller: Caller) throws -> [ConflictEntry] {
        try caller.require(.manager, .admin)
        return try replica.openConflicts().map(Self.conflictEntry)
    }

    /// Resolves a keep-both conflict by choosing (or typing) the value; the choice replicates and
    /// closes the conflict on every node that has seen the values it supersedes.
    public func resolveConflict(_ caller: Caller, table: String, rowId: String, column: String, value: String) async throws {
        try caller.require(.manager, .admin)
        guard table == "patient", ["phone", "address"].contains(column) else {
            throw CRMError.invalid("only patient phone and address conflicts are resolved here")
        }
        var input = PatientInput()
        if column == "phone" { input.phone = value } else { input.address = value }
        try await update(caller, id: rowId, input)
    }
}
