import Foundation
import GRDB
import Replica
import Sodium

/// The follow-up and patient-relationship workflow on one node's replica, by area:
/// ``patients``, ``encounters``, ``followUps``, ``surveys``, ``complaints``, ``service``, ``sms``,
/// ``statistics``, ``accounts`` and ``organisation``.
///
/// Every change goes through ``Replica/write(_:)`` with an audit entry in the same transaction,
/// so it is captured, synchronised and merged under the declared conflict policies. Reads go
/// straight to SQLite. Both are `async` on GRDB's own queues, so callers never block a
/// cooperative thread. Methods check the caller's role themselves, so no front end can skip it.
public final class CRM: Sendable {
    public let replica: Replica
    public let time: LocalTime
    let now: @Sendable () -> Date
    let passwordStrength: PasswordHasher.Strength

    /// - Parameters:
    ///   - now: the wall clock; by default the replica's (``Replica/wallClock``), so records and
    ///     their replication stamps tell the same time. Tests move their own.
    ///   - passwordStrength: libsodium's interactive limits in production; tests use the minimum.
    public init(
        replica: Replica, time: LocalTime = LocalTime(), now: (@Sendable () -> Date)? = nil,
        passwordStrength: PasswordHasher.Strength = .interactive
    ) throws {
        self.replica = replica
        self.time = time
        let clock = replica.wallClock
        self.now = now ?? { Date(timeIntervalSince1970: Double(clock.now()) / 1000) }
        self.passwordStrength = passwordStrength
        try CRMSchema.prepare(replica)
    }

    /// This node's id as it appears on records.
    public var nodeID: String { replica.nodeID.description }

    func timestamp() -> String { time.timestamp(now()) }
    /// Now, as records store it (ISO-8601, the hospital's offset), on this CRM's clock.
    public func currentTimestamp() -> String { timestamp() }

    /// When a device says it captured something (a tablet that kept answers while offline): its
    /// time when it is one and lies within the last 30 days (and not over 5 minutes ahead), else now.
    public func captureTimestamp(_ text: String?) -> String {
        let now = now()
        guard let text, let date = time.parseTimestamp(text), date <= now.addingTimeInterval(300), date >= now.addingTimeInterval(-30 * 86_400) else {
            return timestamp()
        }
        return time.timestamp(date)
    }
    /// Today, local to the hospital.
    public func today() -> String { time.day(now()) }

    /// Runs a replicated write with its audit entry, on the replica's writer queue.
    func change<T: Sendable>(
        _ caller: Caller, _ action: String, _ entity: String, _ body: @escaping @Sendable (ReplicaTransaction) throws -> (T, String)
    ) async throws -> T {
        try await replica.write { tx in
            let (result, entityID) = try body(tx)
            try self.audit(tx, caller, action, entity, entityID)
            return result
        }
    }

    /// An audit entry for something that changes no record (a login, an archive read, a search,
    /// an export), in a commit of its own. The node's own work (`.system`) is not audited.
    func auditEvent(_ caller: Caller, _ action: String, _ entity: String, _ entityID: String) async throws {
        guard caller != .system else { return }
        try await change(caller, action, entity) { _ in ((), entityID) }
    }

    /// One audit entry per record a read showed (a search's results), in one commit, so the trail of
    /// any one record (`/audit?entity=`) names every search that showed it.
    func auditEvents(_ caller: Caller, _ action: String, _ entity: String, _ entityIDs: [String]) async throws {
        guard caller != .system, !entityIDs.isEmpty else { return }
        try await replica.write { tx in
            for id in entityIDs { try self.audit(tx, caller, action, entity, id) }
        }
    }

    func audit(_ tx: ReplicaTransaction, _ caller: Caller, _ action: String, _ entity: String, _ entityID: String) throws {
        try tx.insert(AuditRecord(at: timestamp(), nodeId: nodeID, userId: caller.userId, action: action, entity: entity, entityId: entityID))
    }

    /// Reads from a snapshot of the replica, on GRDB's reader queues.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await replica.read(body)
    }
}

/// One area of the domain (``CRM/patients``, ``CRM/followUps``, …): a view of the shared ``CRM``
/// with its clock, replica, audit and access helpers.
protocol CRMArea: Sendable {
    var crm: CRM { get }
}

extension CRMArea {
    var replica: Replica { crm.replica }
    var time: LocalTime { crm.time }
    var nodeID: String { crm.nodeID }
    func now() -> Date { crm.now() }
    func timestamp() -> String { crm.timestamp() }
    func today() -> String { crm.today() }

    func change<T: Sendable>(
        _ caller: Caller, _ action: String, _ entity: String, _ body: @escaping @Sendable (ReplicaTransaction) throws -> (T, String)
    ) async throws -> T {
        try await crm.change(caller, action, entity, body)
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await crm.read(body)
    }
}

/// Local (not replicated) tables and the indexes the queries need, as named migrations
/// (``Replica/migrateLocal(_:)``). The `crm-1-…` migrations are the baseline: they tolerate files
/// whose tables were made before migrations (`IF NOT EXISTS`); later ones are plain.
enum CRMSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("crm-1-sessions-and-claims") { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS crm_session (
                        tokenHash TEXT PRIMARY KEY, userId TEXT NOT NULL, role TEXT NOT NULL,
                        createdAt TEXT NOT NULL, expiresAt TEXT NOT NULL);
                    CREATE TABLE IF NOT EXISTS crm_claim (
                        taskId TEXT NOT NULL, userId TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (taskId, userId));
                    """)
        }
        migrator.registerMigration("crm-1-query-indexes") { db in
            try db.execute(
                sql: """
                    CREATE INDEX IF NOT EXISTS crm_patient_phone ON patient(phone);
                    CREATE INDEX IF NOT EXISTS crm_patient_id_number ON patient(idNumber);
                    CREATE INDEX IF NOT EXISTS crm_patient_name ON patient(name, birthDate);
                    CREATE INDEX IF NOT EXISTS crm_encounter_patient ON encounter(patientId);
                    CREATE INDEX IF NOT EXISTS crm_encounter_ward ON encounter(wardId, dischargedAt);
                    CREATE INDEX IF NOT EXISTS crm_task_due ON followUpTask(dueDate);
                    CREATE INDEX IF NOT EXISTS crm_task_patient ON followUpTask(patientId);
                    CREATE INDEX IF NOT EXISTS crm_task_encounter ON followUpTask(encounterId);
                    CREATE INDEX IF NOT EXISTS crm_record_task ON followUpRecord(taskId);
                    CREATE INDEX IF NOT EXISTS crm_record_patient ON followUpRecord(patientId);
                    CREATE INDEX IF NOT EXISTS crm_response_patient ON surveyResponse(patientId);
                    CREATE INDEX IF NOT EXISTS crm_opinion_response ON opinion(responseId);
                    CREATE INDEX IF NOT EXISTS crm_complaint_patient ON complaint(patientId);
                    CREATE INDEX IF NOT EXISTS crm_complaint_note ON complaintNote(complaintId);
                    CREATE INDEX IF NOT EXISTS crm_consultation_patient ON consultation(patientId);
                    CREATE INDEX IF NOT EXISTS crm_appointment_patient ON appointment(patientId);
                    CREATE INDEX IF NOT EXISTS crm_sms_patient ON smsMessage(patientId);
                    CREATE INDEX IF NOT EXISTS crm_sms_status ON smsMessage(status, scheduledAt);
                    CREATE INDEX IF NOT EXISTS crm_sms_phone ON smsMessage(phone, sentAt);
                    CREATE INDEX IF NOT EXISTS crm_merge_merged ON patientMerge(mergedId);
                    CREATE INDEX IF NOT EXISTS crm_event_encounter ON encounterEvent(encounterId);
                    """)
        }
        migrator.registerMigration("crm-1-response-day-counts") { db in try ResponseStatistics.prepare(db) }
        migrator.registerMigration("crm-2-login-failures") { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS crm_login_failure (key TEXT PRIMARY KEY NOT NULL, failures INTEGER NOT NULL, lastAt REAL NOT NULL)")
        }
        migrator.registerMigration("crm-3-his") { db in try HISCodeMap.prepare(db) }
        migrator.registerMigration("crm-4-sms-attempts") { db in
            // Messages handed to the gateway whose outcome is not recorded yet (CRM.SMS.dispatch).
            try db.execute(sql: "CREATE TABLE crm_sms_attempt (messageId TEXT PRIMARY KEY NOT NULL, startedAt TEXT NOT NULL)")
        }
        migrator.registerMigration("crm-5-counter-lists") { db in
            // The consultation and appointment lists (CRM.Service.consultations, .appointments).
            try db.execute(
                sql: """
                    CREATE INDEX IF NOT EXISTS crm_consultation_open ON consultation(status, at, id);
                    CREATE INDEX IF NOT EXISTS crm_appointment_time ON appointment(scheduledAt, id);
                    """)
        }
        migrator.registerMigration("crm-6-sms-campaigns") { db in
            // A campaign's progress and cancelling it (CRM.SMS.campaigns, .cancelCampaign).
            try db.execute(sql: "CREATE INDEX IF NOT EXISTS crm_sms_campaign ON smsMessage(campaignId, status)")
        }
        migrator.registerMigration("crm-7-survey-links") { db in
            // The key survey links are signed with (CRM.Surveys.link): this node's alone, never replicated.
            try db.execute(sql: "CREATE TABLE crm_link_key (id INTEGER PRIMARY KEY CHECK (id = 1), key BLOB NOT NULL)")
        }
        return migrator
    }

    static func prepare(_ replica: Replica) throws {
        try replica.migrateLocal(migrator)
    }
}
