import Foundation
import GRDB
import Replica

/// The outbox and the inbox: what was queued and sent, filtered and paged; cancelling what has
/// not gone out; campaigns with their progress; replies from patients.
extension CRM.SMS {
    /// The outbox, newest first, optionally one status; numbers masked.
    public func outbox(_ caller: Caller, status: SMSStatus?, page: PageRequest) async throws -> Page<SMSMessage> {
        try await outbox(caller, SMSOutboxFilter(status: status), page: page)
    }

    /// The outbox, newest first, narrowed by `filter`; numbers masked.
    public func outbox(_ caller: Caller, _ filter: SMSOutboxFilter, page: PageRequest) async throws -> Page<SMSMessage> {
        try caller.require(.manager, .agent, .admin)
        try filter.validate(time)
        return try await read { db in
            var sql = "SELECT * FROM smsMessage WHERE 1"
            var arguments: StatementArguments = []
            if let status = filter.status { sql += " AND status = ?"; arguments += [status.rawValue] }
            if let campaign = filter.campaignId { sql += " AND campaignId = ?"; arguments += [campaign] }
            if let patient = filter.patientId { sql += " AND patientId = ?"; arguments += [patient] }
            if let phone = filter.phone.flatMap(PhoneNumber.normalize) { sql += " AND phone = ?"; arguments += [phone] }
            if let from = filter.from { sql += " AND scheduledAt >= ?"; arguments += [from] }
            if let to = filter.to { sql += " AND scheduledAt < ?"; arguments += [to + "T99"] }
            if let after = page.after { sql += " AND id < ?"; arguments += [after] }
            sql += " ORDER BY id DESC LIMIT ?"
            arguments += [page.limit + 1]
            let messages = try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.smsMessage)
            return page.page(messages, id: \.id)
        }
    }

    /// Cancels a message that has not gone out yet (a scheduled send staff no longer want).
    public func cancel(_ caller: Caller, id: String) async throws {
        try requireSMSNode()
        try caller.require(.manager, .agent)
        try await change(caller, "sms.cancel", "smsMessage") { tx in
            guard let status = try String.fetchOne(tx.db, sql: "SELECT status FROM smsMessage WHERE id = ?", arguments: [id]) else {
                throw CRMError.notFound("SMS", id)
            }
            guard status == SMSStatus.queued.rawValue else { throw CRMError.conflict("only a queued message can be cancelled (this one is '\(status)')") }
            guard try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM crm_sms_attempt WHERE messageId = ?", arguments: [id]) != true else {
                throw CRMError.conflict("this message is being handed to the gateway right now")
            }
            try tx.update(SMSMessageRecord.self, id: id, [.status: SMSStatus.cancelled.rawValue, .error: nil])
            return ((), id)
        }
    }

    /// Cancels what of a campaign has not gone out yet. Returns how many messages it cancelled.
    @discardableResult
    public func cancelCampaign(_ caller: Caller, id: String) async throws -> Int {
        try requireSMSNode()
        try caller.require(.manager, .admin)
        return try await change(caller, "sms.campaign.cancel", "smsCampaign") { tx in
            guard try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM smsCampaign WHERE id = ?", arguments: [id]) == true else {
                throw CRMError.notFound("SMS campaign", id)
            }
            let queued = try String.fetchAll(
                tx.db,
                sql: """
                    SELECT id FROM smsMessage WHERE campaignId = ? AND status = 'queued'
                    AND id NOT IN (SELECT messageId FROM crm_sms_attempt)
                    """, arguments: [id])
            for message in queued { try tx.update(SMSMessageRecord.self, id: message, [.status: SMSStatus.cancelled.rawValue, .error: nil]) }
            return (queued.count, id)
        }
    }

    /// Campaigns, newest first (ids grow with time), with how many of their messages are in each state.
    public func campaigns(_ caller: Caller, page: PageRequest) async throws -> Page<SMSCampaign> {
        try caller.require(.manager, .admin)
        return try await read { db in
            var sql = "SELECT * FROM smsCampaign"
            var arguments: StatementArguments = []
            if let after = page.after {
                sql += " WHERE id < ?"
                arguments += [after]
            }
            sql += " ORDER BY id DESC LIMIT ?"
            arguments += [page.limit + 1]
            let campaigns = try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                let id: String = row["id"]
                let counts = try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM smsMessage WHERE campaignId = ? GROUP BY status", arguments: [id])
                    .reduce(into: [String: Int]()) { $0[$1["status"] ?? ""] = $1["n"] }
                return SMSCampaign(
                    id: id, name: row["name"] ?? "", templateId: row["templateId"] ?? "", audienceCount: row["audienceCount"] ?? 0,
                    scheduledAt: row["scheduledAt"] ?? "", createdAt: row["createdAt"] ?? "", userId: row["userId"] ?? "", messages: counts)
            }
            return page.page(campaigns, id: \.id)
        }
    }

    static func smsMessage(_ row: Row) -> SMSMessage {
        SMSMessage(
            id: row["id"], patientId: row["patientId"], phone: PhoneNumber.masked(row["phone"] ?? ""), body: row["body"] ?? "",
            campaignId: row["campaignId"], scheduledAt: row["scheduledAt"] ?? "", status: row["status"] ?? "", attempts: row["attempts"] ?? 0,
            error: row["error"], sentAt: row["sentAt"], deliveredAt: row["deliveredAt"])
    }

    /// Messages patients sent (replies), newest first, with the archives their number belongs to
    /// and whether it opted out; numbers masked. For agents and managers to answer.
    public func inbound(_ caller: Caller, page: PageRequest) async throws -> Page<InboundSMS> {
        try caller.require(.manager, .agent, .admin)
        return try await read { db in
            var sql = "SELECT * FROM smsInbound"
            var arguments: StatementArguments = []
            if let after = page.after {
                sql += " WHERE id < ?"
                arguments += [after]
            }
            sql += " ORDER BY receivedAt DESC, id DESC LIMIT ?"
            arguments += [page.limit + 1]
            let items = try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                let phone: String = row["phone"] ?? ""
                return InboundSMS(
                    id: row["id"], phone: PhoneNumber.masked(phone), body: row["body"] ?? "", receivedAt: row["receivedAt"] ?? "",
                    patientIds: try String.fetchAll(db, sql: "SELECT id FROM patient WHERE phone = ? ORDER BY id LIMIT 5", arguments: [phone]),
                    optedOut: try Bool.fetchOne(db, sql: "SELECT 1 FROM smsOptOut WHERE id = ? AND active = 1", arguments: [phone]) ?? false)
            }
            return page.page(items, id: \.id)
        }
    }
}

/// What the outbox shows: every given criterion must hold.
public struct SMSOutboxFilter: Sendable, Hashable {
    public var status: SMSStatus?
    public var campaignId: String?
    public var patientId: String?
    /// Any spelling of a number (`+86 138-0000-8000`); matched after normalising.
    public var phone: String?
    /// Scheduled on or after this day (yyyy-MM-dd).
    public var from: String?
    /// Scheduled on or before this day (yyyy-MM-dd).
    public var to: String?

    public init(status: SMSStatus? = nil, campaignId: String? = nil, patientId: String? = nil, phone: String? = nil, from: String? = nil, to: String? = nil) {
        self.status = status
        self.campaignId = campaignId
        self.patientId = patientId
        self.phone = phone
        self.from = from
        self.to = to
    }

    func validate(_ time: LocalTime) throws(CRMError) {
        for day in [from, to].compactMap({ $0 }) where !time.isDay(day) { throw .invalid("from and to must be yyyy-MM-dd") }
        if let phone, PhoneNumber.normalize(phone) == nil { throw .unprocessable("phone is not a phone number") }
        for id in [campaignId, patientId].compactMap({ $0 }) where id.isEmpty || id.count > 100 { throw .invalid("ids are 1–100 characters") }
    }
}

/// A group send and how far it got.
public struct SMSCampaign: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var templateId: String
    public var audienceCount: Int
    public var scheduledAt: String
    public var createdAt: String
    public var userId: String
    /// Messages by status (`queued`, `sent`, `delivered`, `failed`, `cancelled`).
    public var messages: [String: Int]
}

/// A message a patient sent to the hospital's number.
public struct InboundSMS: Codable, Sendable, Hashable {
    public var id: String
    /// Masked (`138****8000`).
    public var phone: String
    public var body: String
    public var receivedAt: String
    /// The archives with this number.
    public var patientIds: [String]
    /// Whether the number opted out (this or an earlier reply said TD).
    public var optedOut: Bool
}
