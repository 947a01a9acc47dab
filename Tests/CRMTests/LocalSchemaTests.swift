import Foundation
import GRDB
import Replica
import Sodium
import TestSupport
import Testing

@testable import CRMDomain

/// The CRM's local tables come from named migrations, each run once per file; a file whose tables
/// were made before migrations (by `CREATE … IF NOT EXISTS` on every start) opens as it is.
@Suite("Local tables: named migrations")
struct LocalSchemaTests {
    func open(_ path: String) throws -> (Replica, CRM) {
        let replica = try Replica.open(at: path, configuration: ReplicaConfiguration(policies: repositoryPolicies))
        return (replica, try CRM(replica: replica, passwordStrength: .minimum))
    }

    func applied(_ replica: Replica) throws -> [String] {
        try replica.reader.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations WHERE identifier LIKE 'crm-%' ORDER BY identifier") }
    }

    @Test func migrationsRunOnceAndAFileFromBeforeMigrationsOpens() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("local-schema-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let fresh = directory.appendingPathComponent("fresh.sqlite").path
        do {
            let (replica, crm) = try open(fresh)
            #expect(
                try applied(replica) == [
                    "crm-1-query-indexes", "crm-1-response-day-counts", "crm-1-sessions-and-claims", "crm-2-login-failures", "crm-3-his", "crm-4-sms-attempts",
                    "crm-5-counter-lists", "crm-6-sms-campaigns", "crm-7-survey-links",
                ])
            try await crm.accounts.saveUser(.system, username: "agent", displayName: "agent", role: .agent, password: "password-agent")
        }
        let (again, crm) = try open(fresh)
        #expect(try applied(again).count == 9)
        await #expect(try crm.accounts.authenticate(token: crm.accounts.login(username: "agent", password: "password-agent").token).userId == "agent", "the session table works")

        // Tables made the old way, with a session in them: kept.
        let old = directory.appendingPathComponent("old.sqlite").path
        do {
            let replica = try Replica.open(at: old, configuration: ReplicaConfiguration(policies: repositoryPolicies))
            try await replica.writeLocal { db in
                try db.execute(
                    sql: """
                        CREATE TABLE crm_session (tokenHash TEXT PRIMARY KEY, userId TEXT NOT NULL, role TEXT NOT NULL,
                                                  createdAt TEXT NOT NULL, expiresAt TEXT NOT NULL);
                        INSERT INTO crm_session VALUES ('h', 'u', 'agent', '2026-01-01', '2099-01-01');
                        """)
            }
        }
        let (upgraded, _) = try open(old)
        #expect(try applied(upgraded).count == 9)
        await #expect(try upgraded.reader.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM crm_session") } == 1)
    }
}

/// Every record type writes exactly its table's declared columns: a renamed or mistyped column
/// is found here, not by a user as `unknownColumn`.
@Suite("Records match the policy files")
struct RecordColumnsTests {
    @Test func everyRecordTypeWritesExactlyItsDeclaredColumns() throws {
        let replica = try Replica.inMemory(configuration: ReplicaConfiguration(policies: repositoryPolicies))
        let records: [any ReplicatedRecord] = [
            AuditRecord(at: "t", nodeId: "n", userId: "u", action: "a", entity: "e", entityId: "i"),
            ComplaintNoteRecord(complaintId: "c", status: "registered", note: "n", userId: "u", nodeId: "n", at: "t"),
            EncounterEventRecord(encounterId: "e", patientId: "p", kind: "admitted", at: "t", fromWardId: "a", toWardId: "b", userId: "u", nodeId: "n"),
            FollowUpAttemptRecord(taskId: "t", patientId: "p", outcome: "reached", note: "n", nextAction: "x", responseId: "r", userId: "u", nodeId: "n", at: "t"),
            ComplaintRecord(
                patientId: "p", departmentId: "d", summary: "s", status: "registered", registeredAt: "t", deadline: "d", channel: "phone",
                handlerId: "h", resolution: "r", closedAt: "c", flags: "[]"),
            ConsultationRecord(patientId: "p", phone: "1", topic: "t", content: "c", handling: "h", status: "open", userId: "u", at: "t"),
            AppointmentRecord(
                patientId: "p", kind: "visit", departmentId: "d", doctorId: "d", scheduledAt: "t", status: "booked", confirmedAt: "t",
                userId: "u", createdAt: "t"),
            OpinionRecord(responseId: "r", patientId: "p", kind: "praise", text: "t", departmentId: "d", staffId: "s", wardId: "w", mode: "bedside", at: "t"),
            PatientMergeRecord(survivorId: "a", mergedId: "b", reason: "r", mergedAt: "t", mergedBy: "u", undone: 0, undoneAt: "t", undoneBy: "u"),
            SMSInboundRecord(phone: "1", body: "b", receivedAt: "t"),
            SurveyTemplateVersionRecord(templateId: "t", version: 1, definition: "{}", createdAt: "t", createdBy: "u"),
            EncounterRecord(
                patientId: "p", kind: "inpatient", departmentId: "d", wardId: "w", doctorId: "d", diagnosisCode: "I21", admittedAt: "t", dischargedAt: "t",
                dischargeStatus: "cured", cancelled: 0),
            FollowUpTaskRecord(
                patientId: "p", kind: "rule", dueDate: "d", dueBy: "t", encounterId: "e", ruleId: "r", triggerEvent: "discharge", templateId: "t", wardId: "w",
                departmentId: "d", note: "n", claimedBy: "c", attempts: 0, outcome: "reached", nextAction: "x", doneAt: "t", withdrawn: 0, createdAt: "t"),
            SMSMessageRecord(
                patientId: "p", phone: "1", body: "b", campaignId: "c", scheduledAt: "t", status: "queued", attempts: 0, gatewayRef: "g", error: "e",
                createdAt: "t", sentAt: "t", deliveredAt: "t"),
            SMSCampaignRecord(name: "n", templateId: "t", audience: "{}", audienceCount: 1, scheduledAt: "t", userId: "u", createdAt: "t"),
            PatientRecord(
                name: "n", gender: "male", birthDate: "d", idNumber: "i", phone: "1", address: "a", region: "r", category: "c", tags: "[]",
                firstVisit: "d", createdAt: "t"),
            SurveyTemplateRecord(name: "n", purpose: "bedside", diseaseCode: "I21", currentVersion: 1, active: 1, createdAt: "t"),
            SurveyResponseRecord(
                templateId: "t", templateVersion: 1, patientId: "p", wardId: "w", departmentId: "d", mode: "bedside", staffId: "s", nodeId: "n",
                taskId: "t", startedAt: "t", submittedAt: "t", answers: "{}", overall: 5, recommend: 10),
            FollowUpRuleRecord(
                name: "n", kind: "fixed-offset", triggerEvent: "discharge", offsets: "7", intervalDays: 1, repeatCount: 1, filter: "{}",
                templateId: "t", active: 1, createdAt: "t"),
            DepartmentRecord(name: "n", code: "c"), WardRecord(name: "n", departmentId: "d"),
            StaffRecord(name: "n", departmentId: "d", title: "doctor"), DiseaseRecord(name: "n"), SettingRecord(value: "v"),
            CalendarDayRecord(kind: "holiday", name: "n"),
            UserRecord(displayName: "n", role: "admin", passwordHash: "h", wardId: "w", staffId: "s", disabled: 0),
            BlacklistRecord(reason: "r", active: 1, userId: "u", at: "t"), SMSOptOutRecord(active: 1, source: "reply", at: "t"),
            SMSTemplateRecord(name: "n", kind: "general", body: "b"),
            RevokedNodeRecord(name: "n", revokedAt: "t", revokedBy: "u", acceptedUpTo: 0),
        ]
        for record in records {
            let mismatch = try replica.undeclaredColumns(of: record)
            #expect(mismatch.extra.isEmpty && mismatch.missing.isEmpty, "\(type(of: record)): \(mismatch)")
        }
    }
}

/// `upsert`: the row's natural key finds it again; what records how it began stays.
@Suite("Upserts")
struct UpsertTests {
    @Test func anUpsertUpdatesTheRowButKeepsItsCreationAndItsNotNullColumnsLeftNil() async throws {
        let replica = try Replica.inMemory(configuration: ReplicaConfiguration(policies: repositoryPolicies))
        try await replica.write { tx in
            try tx.upsert(SurveyTemplateRecord(id: "t1", name: "first", purpose: nil, diseaseCode: nil, currentVersion: 1, active: 1, createdAt: "2026-01-01"))
            try tx.upsert(SurveyTemplateRecord(id: "t1", name: "second", purpose: nil, diseaseCode: nil, currentVersion: 2, active: 1, createdAt: "2026-02-02"))
            try tx.upsert(UserRecord(id: "u1", displayName: "U", role: "agent", passwordHash: "hash", wardId: nil, staffId: nil, disabled: 0))
            try tx.upsert(UserRecord(id: "u1", displayName: "U2", role: "agent", passwordHash: nil, wardId: nil, staffId: nil, disabled: 1))
        }
        let (template, user) = try await replica.reader.read { db in
            (
                try String.fetchOne(db, sql: "SELECT name || '|' || currentVersion || '|' || createdAt FROM surveyTemplate WHERE id = 't1'"),
                try String.fetchOne(db, sql: "SELECT displayName || '|' || passwordHash || '|' || disabled FROM appUser WHERE id = 'u1'")
            )
        }
        #expect(template == "second|2|2026-01-01")
        #expect(user == "U2|hash|1")
    }
}
