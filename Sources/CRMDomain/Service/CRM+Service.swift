import Foundation
import GRDB
import Replica

/// A consultation (咨询登记): from a known patient or an anonymous caller (then only a phone).
public struct Consultation: Codable, Sendable, Hashable {
    public var id: String
    public var patientId: String?
    /// The caller's number, normalised (shown masked to agents).
    public var phone: String?
    public var topic: String
    public var content: String
    public var handling: String?
    /// `open` or `answered`.
    public var status: String
    public var userId: String?
    public var at: String
    /// The department it was routed to for an answer, if any.
    public var departmentId: String?

    init(row: Row) {
        id = row["id"]
        patientId = row["patientId"]
        phone = row["phone"]
        topic = row["topic"] ?? ""
        content = row["content"] ?? ""
        handling = row["handling"]
        status = row["status"] ?? "open"
        userId = row["userId"]
        at = row["at"]
        departmentId = row["departmentId"]
    }
}

/// An appointment (预约) for a visit or an examination.
public struct Appointment: Codable, Sendable, Hashable {
    public var id: String
    public var patientId: String
    public var kind: String
    public var departmentId: String?
    public var doctorId: String?
    public var scheduledAt: String
    public var status: String
    public var confirmedAt: String?

    init(row: Row) {
        id = row["id"]
        patientId = row["patientId"]
        kind = row["kind"]
        departmentId = row["departmentId"]
        doctorId = row["doctorId"]
        scheduledAt = row["scheduledAt"]
        status = row["status"]
        confirmedAt = row["confirmedAt"]
    }
}

/// Appointment states; visit confirmation (就诊确认) moves booked → confirmed.
public enum AppointmentStatus: String, Codable, CaseIterable, Sendable {
    case booked, confirmed, cancelled, noShow
}

extension CRM.Service {
    /// Registers a consultation, by a known patient or an anonymous caller.
    public func registerConsultation(_ caller: Caller, patientId: String?, phone: String?, topic: String, content: String, handling: String?) async throws -> String {
        try caller.require(.agent, .manager, .visitor)
        guard !topic.isEmpty, topic.count <= 100 else { throw CRMError.invalid("topic must be 1–100 characters") }
        guard !content.isEmpty, content.count <= 4000 else { throw CRMError.invalid("content must be 1–4000 characters") }
        if let handling, handling.count > 4000 { throw CRMError.invalid("handling must be at most 4000 characters") }
        let number = try phone.map { text throws(CRMError) in
            guard let number = PhoneNumber.normalize(text) else { throw .unprocessable("phone is not a phone number") }
            return number
        }
        return try await change(caller, "consultation.register", "consultation") { tx in
            if let patientId, try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM patient WHERE id = ?", arguments: [patientId]) != true {
                throw CRMError.notFound("patient", patientId)
            }
            if let patientId { try crm.requireReach(caller, patient: patientId, tx.db) }
            let id = try tx.insert(
                ConsultationRecord(
                    patientId: patientId, phone: number, topic: topic, content: content, handling: handling, status: handling == nil ? "open" : "answered",
                    userId: caller.userId, at: timestamp()))
            return (id, id)
        }
    }

    /// Consultations, oldest first: the open ones (the counter's work list), the answered ones, or
    /// all; optionally those routed to one department. Paged by `at|id`.
    public func consultations(_ caller: Caller, status: String?, departmentId: String? = nil, page: PageRequest) async throws -> Page<Consultation> {
        try caller.require(.agent, .manager)
        if let status, !["open", "answered"].contains(status) { throw CRMError.invalid("status must be open or answered") }
        return try await read { db in
            var sql = "SELECT * FROM consultation WHERE 1"
            var arguments: StatementArguments = []
            if let status { sql += " AND status = ?"; arguments += [status] }
            if let departmentId { sql += " AND departmentId = ?"; arguments += [departmentId] }
            if let (key, id) = try page.keyAndID() {
                sql += " AND (at, id) > (?, ?)"
                arguments += [key, id]
            }
            sql += " ORDER BY at, id LIMIT ?"
            arguments += [page.limit + 1]
            let rows = try Row.fetchAll(db, sql: sql, arguments: arguments).map(Consultation.init(row:))
            return page.page(rows, id: { "\($0.at)|\($0.id)" })
        }
    }

    /// Routes a consultation to a department that answers it (it stays open until answered).
    public func routeConsultation(_ caller: Caller, id: String, departmentId: String) async throws {
        try caller.require(.agent, .manager)
        try await change(caller, "consultation.route", "consultation") { tx in
            guard let status = try String.fetchOne(tx.db, sql: "SELECT status FROM consultation WHERE id = ?", arguments: [id]) else {
                throw CRMError.notFound("consultation", id)
            }
            guard status == "open" else { throw CRMError.conflict("consultation '\(id)' is already answered") }
            guard try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM department WHERE id = ?", arguments: [departmentId]) == true else {
                throw CRMError.notFound("department", departmentId)
            }
            try tx.update(ConsultationRecord.self, id: id, [.departmentId: departmentId])
            return ((), id)
        }
    }

    /// Records how a consultation was answered.
    public func answerConsultation(_ caller: Caller, id: String, handling: String) async throws {
        try caller.require(.agent, .manager)
        guard !handling.isEmpty, handling.count <= 4000 else { throw CRMError.invalid("handling must be 1–4000 characters") }
        try await change(caller, "consultation.answer", "consultation") { tx in
            guard let status = try String.fetchOne(tx.db, sql: "SELECT status FROM consultation WHERE id = ?", arguments: [id]) else {
                throw CRMError.notFound("consultation", id)
            }
            // Two agents (or a stale page) must not overwrite an answer given.
            guard status == "open" else { throw CRMError.conflict("consultation '\(id)' is already answered") }
            try tx.update(ConsultationRecord.self, id: id, [.handling: handling, .status: "answered"])
            return ((), id)
        }
    }

    /// Books an appointment (预约挂号 / 检查预约).
    public func bookAppointment(_ caller: Caller, patientId: String, kind: String, departmentId: String?, doctorId: String?, scheduledAt: String) async throws -> String {
        try caller.require(.agent, .manager)
        guard ["visit", "examination"].contains(kind) else { throw CRMError.invalid("kind must be visit or examination") }
        guard let when = time.normalizedTimestamp(scheduledAt) else { throw CRMError.invalid("scheduledAt must be an ISO-8601 date-time") }
        return try await change(caller, "appointment.book", "appointment") { tx in
            guard try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM patient WHERE id = ?", arguments: [patientId]) == true else {
                throw CRMError.notFound("patient", patientId)
            }
            try CRM.Encounters.checkReferences(tx.db, departmentId: departmentId, wardId: nil)
            let id = try tx.insert(
                AppointmentRecord(
                    patientId: patientId, kind: kind, departmentId: departmentId, doctorId: doctorId, scheduledAt: when,
                    status: AppointmentStatus.booked.rawValue, userId: caller.userId, createdAt: timestamp()))
            return (id, id)
        }
    }

    /// Appointments scheduled from `from` to `to` (local days, both included), earliest first,
    /// optionally of one status. Paged by `scheduledAt|id`.
    public func appointments(_ caller: Caller, range: DayRange, status: AppointmentStatus?, page: PageRequest) async throws -> Page<Appointment> {
        try caller.require(.agent, .manager)
        try range.validate(time)
        guard let end = time.day(range.to, plus: 1) else { throw CRMError.invalid("to must be yyyy-MM-dd") }
        return try await read { db in
            var sql = "SELECT * FROM appointment WHERE scheduledAt >= ? AND scheduledAt < ?"
            var arguments: StatementArguments = [range.from, end]
            if let status { sql += " AND status = ?"; arguments += [status.rawValue] }
            if let (key, id) = try page.keyAndID() {
                sql += " AND (scheduledAt, id) > (?, ?)"
                arguments += [key, id]
            }
            sql += " ORDER BY scheduledAt, id LIMIT ?"
            arguments += [page.limit + 1]
            let rows = try Row.fetchAll(db, sql: sql, arguments: arguments).map(Appointment.init(row:))
            return page.page(rows, id: { "\($0.scheduledAt)|\($0.id)" })
        }
    }

    /// Confirms the visit happened (就诊确认), cancels, or marks a no-show.
    public func setAppointmentStatus(_ caller: Caller, id: String, status: AppointmentStatus) async throws {
        try caller.require(.agent, .manager)
        try await change(caller, "appointment.\(status.rawValue)", "appointment") { tx in
            guard let current = try String.fetchOne(tx.db, sql: "SELECT status FROM appointment WHERE id = ?", arguments: [id]) else {
                throw CRMError.notFound("appointment", id)
            }
            guard current == AppointmentStatus.booked.rawValue || current == status.rawValue else {
                throw CRMError.conflict("appointment '\(id)' is already '\(current)'")
            }
            if current == status.rawValue { return ((), id) }  // again: nothing changes (a confirmation keeps its time)
            var values: [AppointmentRecord.Columns: (any DatabaseValueConvertible)?] = [.status: status.rawValue]
            if status == .confirmed { values[.confirmedAt] = timestamp() }
            try tx.update(AppointmentRecord.self, id: id, values)
            // Its reminder, if queued, is not sent. A ward gateway cannot write the outbox: the
            // SMS node's reminder run cancels it there once the change arrives.
            if status != .confirmed, replica.role != .ward { _ = try CRM.SMS.cancelReminder(ofAppointment: id, tx) }
            return ((), id)
        }
    }

    /// Puts a number on the call center's blacklist, or takes it off.
    public func setBlacklisted(_ caller: Caller, phone: String, blacklisted: Bool, reason: String?) async throws {
        try caller.require(.agent, .manager)
        guard let number = PhoneNumber.normalize(phone) else { throw CRMError.unprocessable("not a phone number") }
        if let reason, reason.count > 200 { throw CRMError.invalid("reason must be at most 200 characters") }
        try await change(caller, blacklisted ? "blacklist.add" : "blacklist.remove", "blacklist") { tx in
            try tx.upsert(BlacklistRecord(id: number, reason: reason, active: blacklisted ? 1 : 0, userId: caller.userId, at: timestamp()))
            return ((), PhoneNumber.masked(number))
        }
    }

    /// The blacklisted numbers, masked.
    public func blacklist(_ caller: Caller) async throws -> [BlacklistEntry] {
        try caller.require(.agent, .manager)
        return try await read { db in
            let graph = try CRM.Patients.mergeGraph(db)
            return try Row.fetchAll(db, sql: "SELECT * FROM blacklist WHERE active = 1 ORDER BY at DESC").map { row in
                // The archives with the number, so an agent sees whose it is without the number.
                let archives = try Row.fetchAll(db, sql: "SELECT id, name FROM patient WHERE phone = ? ORDER BY id LIMIT 20", arguments: [row["id"]])
                    .filter { !graph.isMergedAway($0["id"]) }
                    .map { BlacklistEntry.Archive(id: $0["id"], name: $0["name"] ?? "") }
                return BlacklistEntry(number: PhoneNumber.masked(row["id"]), reason: row["reason"], at: row["at"], userId: row["userId"], archives: archives)
            }
        }
    }
}

/// A blacklisted number as listed.
public struct BlacklistEntry: Codable, Sendable, Hashable {
    /// An archive with the number.
    public struct Archive: Codable, Sendable, Hashable {
        public var id: String
        public var name: String
    }
    public var number: String
    public var reason: String?
    public var at: String?
    public var userId: String?
    public var archives: [Archive]
}
