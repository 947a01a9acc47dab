import Foundation
import GRDB
import Replica

/// A complaint (投诉) with its lifecycle notes.
public struct Complaint: Codable, Sendable, Hashable {
    public var id: String
    public var patientId: String?
    public var departmentId: String?
    public var summary: String
    public var status: ComplaintStatus
    public var registeredAt: String
    public var deadline: String?
    public var channel: String?
    public var handlerId: String?
    public var resolution: String?
    public var closedAt: String?
    public var overdue: Bool
    public var notes: [ComplaintNote]
}

/// A note written at a lifecycle step.
public struct ComplaintNote: Codable, Sendable, Hashable {
    public var status: String
    public var note: String
    public var userId: String
    public var nodeId: String
    public var at: String
}

/// A complaint to register.
public struct ComplaintInput: Codable, Sendable {
    public var patientId: String?
    public var departmentId: String?
    public var summary: String
    /// phone | visit | letter | online
    public var channel: String?

    public init(patientId: String? = nil, departmentId: String? = nil, summary: String, channel: String? = nil) {
        self.patientId = patientId
        self.departmentId = departmentId
        self.summary = summary
        self.channel = channel
    }
}

extension CRM.Complaints {
    /// The default number of working days a complaint has before it is overdue (setting `complaintDeadlineWorkingDays`).
    public static let defaultComplaintDeadline = 5

    /// Registers a complaint (登记) with its working-day deadline.
    public func register(_ caller: Caller, _ input: ComplaintInput) async throws -> String {
        try await register(caller, input, at: now())
    }

    /// ``register(_:_:)`` as of a given moment (the demo hospital's older complaints).
    func register(_ caller: Caller, _ input: ComplaintInput, at moment: Date) async throws -> String {
        try caller.require(.agent, .manager, .visitor)
        guard !input.summary.isEmpty, input.summary.count <= 2000 else { throw CRMError.invalid("summary must be 1–2000 characters") }
        if let channel = input.channel, !["phone", "visit", "letter", "online"].contains(channel) {
            throw CRMError.invalid("channel must be phone, visit, letter or online")
        }
        let days = try await crm.organisation.setting("complaintDeadlineWorkingDays", default: Self.defaultComplaintDeadline)
        let deadline = try await crm.organisation.workingCalendar().adding(workingDays: days, to: time.day(moment))
        return try await change(caller, "complaint.register", "complaint") { tx in
            if let patientId = input.patientId, try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM patient WHERE id = ?", arguments: [patientId]) != true {
                throw CRMError.notFound("patient", patientId)
            }
            if let patientId = input.patientId { try crm.requireReach(caller, patient: patientId, tx.db) }
            try CRM.Encounters.checkReferences(tx.db, departmentId: input.departmentId, wardId: nil)
            let at = time.timestamp(moment)
            let id = try tx.insert(
                ComplaintRecord(
                    patientId: input.patientId, departmentId: input.departmentId, summary: input.summary, status: ComplaintStatus.registered.rawValue,
                    registeredAt: at, deadline: deadline, channel: input.channel, flags: SetCodec.text([])))
            try tx.insert(
                ComplaintNoteRecord(
                    complaintId: id, status: ComplaintStatus.registered.rawValue, note: input.summary, userId: caller.userId, nodeId: nodeID, at: at))
            return (id, id)
        }
    }

    /// Moves a complaint forward (受理、跟进、处理、终结) with a note. Going back is refused; two nodes
    /// moving it concurrently end at the furthest step, with both notes kept.
    public func advance(
        _ caller: Caller, id: String, to status: ComplaintStatus, note: String,
        departmentId: String? = nil, handlerId: String? = nil, resolution: String? = nil
    ) async throws {
        try caller.require(.manager, .agent)
        guard !note.isEmpty, note.count <= 2000 else { throw CRMError.invalid("note must be 1–2000 characters") }
        if let resolution, resolution.count > 2000 { throw CRMError.invalid("resolution must be at most 2000 characters") }
        try await change(caller, "complaint.advance", "complaint") { tx in
            guard let current = try String.fetchOne(tx.db, sql: "SELECT status FROM complaint WHERE id = ?", arguments: [id]).flatMap(ComplaintStatus.init(rawValue:)) else {
                throw CRMError.notFound("complaint", id)
            }
            guard status >= current else {
                throw CRMError.conflict("complaint '\(id)' is already '\(current.rawValue)'; its status only moves forward")
            }
            try CRM.Encounters.checkReferences(tx.db, departmentId: departmentId, wardId: nil)
            let at = timestamp()
            var values: [ComplaintRecord.Columns: (any DatabaseValueConvertible)?] = [.status: status.rawValue]
            if let departmentId { values[.departmentId] = departmentId }
            if let handlerId { values[.handlerId] = handlerId }
            if let resolution { values[.resolution] = resolution }
            if status == .closed, current != .closed { values[.closedAt] = at }
            try tx.update(ComplaintRecord.self, id: id, values)
            try tx.insert(ComplaintNoteRecord(complaintId: id, status: status.rawValue, note: note, userId: caller.userId, nodeId: nodeID, at: at))
            return ((), id)
        }
    }

    /// One complaint with its notes.
    public func complaint(_ id: String) async throws -> Complaint {
        try await read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM complaint WHERE id = ?", arguments: [id]) else {
                throw CRMError.notFound("complaint", id)
            }
            return try complaint(db, row)
        }
    }

    func complaint(_ db: Database, _ row: Row) throws -> Complaint {
        let id: String = row["id"]
        // In time order; notes written in the same second follow the lifecycle.
        let stage = { (note: ComplaintNote) in ComplaintStatus(rawValue: note.status).flatMap { ComplaintStatus.allCases.firstIndex(of: $0) } ?? 0 }
        let notes = try Row.fetchAll(db, sql: "SELECT * FROM complaintNote WHERE complaintId = ? ORDER BY at, id", arguments: [id]).map {
            ComplaintNote(status: $0["status"], note: $0["note"] ?? "", userId: $0["userId"] ?? "", nodeId: $0["nodeId"] ?? "", at: $0["at"])
        }.sorted { ($0.at, stage($0)) < ($1.at, stage($1)) }
        let status = ComplaintStatus(rawValue: row["status"] ?? "") ?? .registered
        let deadline: String? = row["deadline"]
        return Complaint(
            id: id, patientId: row["patientId"], departmentId: row["departmentId"], summary: row["summary"] ?? "",
            status: status, registeredAt: row["registeredAt"], deadline: deadline, channel: row["channel"],
            handlerId: row["handlerId"], resolution: row["resolution"], closedAt: row["closedAt"],
            overdue: status != .closed && (deadline.map { $0 < today() } ?? false), notes: notes)
    }

    /// The complaint board: complaints at a stage (all open ones when nil), oldest first.
    public func board(_ caller: Caller, status: ComplaintStatus?, page: PageRequest) async throws -> Page<Complaint> {
        try caller.require(.manager, .agent, .admin)
        return try await read { db in
            var sql = "SELECT * FROM complaint WHERE "
            var arguments: StatementArguments = []
            if let status { sql += "status = ?"; arguments += [status.rawValue] } else { sql += "status != 'closed'" }
            if let after = page.after { sql += " AND id > ?"; arguments += [after] }
            sql += " ORDER BY id LIMIT ?"
            arguments += [page.limit + 1]
            return page.page(try Row.fetchAll(db, sql: sql, arguments: arguments).map { try complaint(db, $0) }, id: \.id)
        }
    }
}
