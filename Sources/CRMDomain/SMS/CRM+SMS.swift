import Foundation
import GRDB
import Replica

/// A message in the outbox.
public struct SMSMessage: Codable, Sendable, Hashable {
    public var id: String
    public var patientId: String?
    /// Masked (`138****8000`) in lists.
    public var phone: String
    public var body: String
    public var campaignId: String?
    public var scheduledAt: String
    public var status: String
    public var attempts: Int
    public var error: String?
    public var sentAt: String?
    public var deliveredAt: String?
}

/// An SMS template; `{name}`, `{date}`, `{hospital}` and `{department}` are filled in per patient.
public struct SMSTemplate: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var kind: String
    public var body: String

    public init(id: String, name: String, kind: String, body: String) {
        self.id = id
        self.name = name
        self.kind = kind
        self.body = body
    }
}

/// What one dispatcher run did.
public struct DispatchReport: Codable, Sendable, Hashable {
    public var sent = 0
    public var failed = 0
    public var deferredByDailyCap = 0
    public var cancelledOptedOut = 0
    /// Not taken by an unreachable or busy gateway: queued again for later.
    public var retried = 0
    /// Handed over without an answer (a timeout after sending): left to the delivery report.
    public var unknown = 0
}

extension CRM.SMS {
    /// The most messages one number gets per day (setting `smsDailyCap`).
    public static let defaultSMSDailyCap = 3
    /// The attempt count a message's record stops at (it only counts; nothing depends on more).
    static let maximumAttempts = 1_000
    /// Tries before a message the gateway keeps failing to take is failed (about 8 minutes).
    static let maximumSendAttempts = 6
    /// How long a send with no recorded outcome waits for a delivery report before it is failed.
    static let attemptSettleSeconds = 120.0
    /// What a template may fill in: the patient's name, a day, the hospital's name (setting
    /// `hospitalName`), a department, an appointment's time, a holiday's name, and a survey link
    /// (written in when the message is sent: CRM+SurveyLinks).
    static let placeholders = ["name", "date", "hospital", "department", "time", "holiday", "surveyLink"]
    /// Template kinds. A template with the id `birthday`, `holiday` (or of kind `holiday` named
    /// like the holiday) or `appointmentReminder` is sent by the node on its own (CRM+SMSGreetings).
    public static let templateKinds = ["general", "birthday", "holiday", "followup", "appointment"]

    /// Creates or updates an SMS template (managers).
    public func saveTemplate(_ caller: Caller, _ template: SMSTemplate) async throws {
        if caller != .system { try caller.require(.manager, .admin) }
        guard ASCIIIdentifier.clientID.admits(template.id) else {
            throw CRMError.invalid("template id must be 1–40 of A-Z, a-z, 0-9, '_' or '-'")
        }
        guard Self.templateKinds.contains(template.kind) else {
            throw CRMError.invalid("kind must be one of \(Self.templateKinds.joined(separator: ", "))")
        }
        guard !template.name.isEmpty, template.name.count <= 100 else { throw CRMError.invalid("name must be 1–100 characters") }
        guard !template.body.isEmpty, template.body.count <= 500 else { throw CRMError.invalid("body must be 1–500 characters") }
        try Self.checkPlaceholders(template.body)
        try await change(caller, "sms.template.save", "smsTemplate") { tx in
            try tx.upsert(SMSTemplateRecord(id: template.id, name: template.name, kind: template.kind, body: template.body))
            return ((), template.id)
        }
    }

    public func templates() async throws -> [SMSTemplate] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM smsTemplate ORDER BY id").map {
                SMSTemplate(id: $0["id"], name: $0["name"] ?? "", kind: $0["kind"] ?? "general", body: $0["body"] ?? "")
            }
        }
    }

    static func checkPlaceholders(_ body: String) throws(CRMError) {
        var rest = Substring(body)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else { throw .unprocessable("body: '{' without '}'") }
            let name = String(rest[rest.index(after: open)..<close])
            guard placeholders.contains(name) else {
                throw .unprocessable("body: unknown placeholder '{\(CRMError.safeID(name))}' (known: \(placeholders.joined(separator: ", ")))")
            }
            rest = rest[rest.index(after: close)...]
        }
    }

    /// Fills a template body in for one patient. `values` fills placeholders the patient does not
    /// (`time`, `holiday`) and may name the `department` (else the patient's latest encounter's).
    func render(_ body: String, patient: Row?, db: Database, day: String, values: [String: String] = [:]) throws -> String {
        let hospital = try String.fetchOne(db, sql: "SELECT value FROM setting WHERE id = 'hospitalName'") ?? "医院"
        var department = values["department"] ?? ""
        if values["department"] == nil, let id = patient?["id"] as String? {
            department =
                try String.fetchOne(
                    db,
                    sql: """
                        SELECT d.name FROM encounter e JOIN department d ON d.id = e.departmentId
                        WHERE e.patientId = ? AND e.cancelled IS NOT 1 ORDER BY e.admittedAt DESC LIMIT 1
                        """, arguments: [id]) ?? ""
        }
        return body.replacingOccurrences(of: "{name}", with: patient?["name"] ?? "")
            .replacingOccurrences(of: "{date}", with: day)
            .replacingOccurrences(of: "{hospital}", with: hospital)
            .replacingOccurrences(of: "{department}", with: department)
            .replacingOccurrences(of: "{time}", with: values["time"] ?? "")
            .replacingOccurrences(of: "{holiday}", with: values["holiday"] ?? "")
    }

    /// How many patients an audience reaches now (the count shown before sending).
    public func audienceCount(_ caller: Caller, _ audience: SMSAudience) async throws -> Int {
        try caller.require(.manager, .admin)
        try audience.validate(time: time)
        return try await read { db in try audience.recipients(db, graph: CRM.Patients.mergeGraph(db)).count }
    }

    /// Queues one message to one patient (or a bare number). Refused for opted-out or blacklisted numbers.
    public func send(_ caller: Caller, patientId: String?, phone: String?, body: String, scheduledAt: String?) async throws -> String {
        try caller.require(.agent, .manager)
        try requireSMSNode()
        guard !body.isEmpty, body.count <= 500 else { throw CRMError.invalid("body must be 1–500 characters") }
        try Self.checkPlaceholders(body)
        guard !body.contains(CRM.Surveys.linkPlaceholder) else {
            throw CRMError.unprocessable("a survey link goes out with a group send or an SMS rule, which name the survey")
        }
        let when =
            try scheduledAt.map { text throws(CRMError) in
                guard let stamp = time.normalizedTimestamp(text) else { throw .invalid("scheduledAt must be an ISO-8601 date-time") }
                return stamp
            } ?? timestamp()
        return try await change(caller, "sms.send", "smsMessage") { tx in
            var patient: Row?
            if let patientId {
                guard let row = try Row.fetchOne(tx.db, sql: "SELECT * FROM patient WHERE id = ?", arguments: [patientId]) else {
                    throw CRMError.notFound("patient", patientId)
                }
                patient = row
            }
            guard let number = phone.flatMap(PhoneNumber.normalize) ?? patient?["phone"] else {
                throw CRMError.unprocessable(phone == nil ? "the patient has no phone number" : "phone is not a phone number")
            }
            if try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM smsOptOut WHERE id = ? AND active = 1", arguments: [number]) == true {
                throw CRMError.conflict("this number has opted out of SMS")
            }
            if try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM blacklist WHERE id = ? AND active = 1", arguments: [number]) == true {
                throw CRMError.conflict("this number is blacklisted")
            }
            let text = try render(body, patient: patient, db: tx.db, day: today())
            let id = try tx.insert(
                SMSMessageRecord(patientId: patientId, phone: number, body: text, scheduledAt: when, status: SMSStatus.queued.rawValue, attempts: 0, createdAt: timestamp()))
            return (id, id)
        }
    }

    /// Creates a group send: one queued message per patient in the audience, sent at `scheduledAt`.
    /// Returns the campaign id and how many messages it queued.
    /// A template with `{surveyLink}` needs `surveyTemplateId`: each message then carries a link to that survey.
    public func createCampaign(
        _ caller: Caller, name: String, templateId: String, audience: SMSAudience, scheduledAt: String?, surveyTemplateId: String? = nil
    ) async throws -> (id: String, messages: Int) {
        try requireSMSNode()
        try caller.require(.manager, .admin)
        guard !name.isEmpty, name.count <= 100 else { throw CRMError.invalid("name must be 1–100 characters") }
        try audience.validate(time: time)
        let when =
            try scheduledAt.map { text throws(CRMError) in
                guard let stamp = time.normalizedTimestamp(text) else { throw .invalid("scheduledAt must be an ISO-8601 date-time") }
                return stamp
            } ?? timestamp()
        let audienceText = String(decoding: try JSONEncoder().encode(audience), as: UTF8.self)
        let linkDays = try await crm.organisation.setting("surveyLinkDays", default: CRM.Surveys.defaultLinkDays)
        return try await change(caller, "sms.campaign", "smsCampaign") { tx in
            guard let body = try String.fetchOne(tx.db, sql: "SELECT body FROM smsTemplate WHERE id = ?", arguments: [templateId]) else {
                throw CRMError.notFound("SMS template", templateId)
            }
            let linked = body.contains(CRM.Surveys.linkPlaceholder)
            guard linked == (surveyTemplateId != nil) else {
                throw CRMError.unprocessable(linked ? "the template has a {surveyLink}: choose the survey it opens" : "a survey needs a template with {surveyLink}")
            }
            let recipients = try audience.recipients(tx.db, graph: CRM.Patients.mergeGraph(tx.db))
            guard recipients.count <= 50_000 else { throw CRMError.invalid("an audience of more than 50,000 must be split") }
            let campaign = try tx.insert(
                SMSCampaignRecord(
                    name: name, templateId: templateId, audience: audienceText, audienceCount: recipients.count, scheduledAt: when, userId: caller.userId,
                    createdAt: timestamp()))
            for recipient in recipients {
                let patient = try Row.fetchOne(tx.db, sql: "SELECT * FROM patient WHERE id = ?", arguments: [recipient.patientId])
                let messageID = DerivedID.make("sms", campaign, recipient.patientId)
                if let surveyTemplateId {
                    try crm.surveys.invite(
                        tx, messageId: messageID, patientId: recipient.patientId, templateId: surveyTemplateId, departmentId: nil, wardId: nil, taskId: nil,
                        days: linkDays, from: when)
                }
                try tx.insert(
                    SMSMessageRecord(
                        id: messageID, patientId: recipient.patientId, phone: recipient.phone,
                        body: try render(body, patient: patient, db: tx.db, day: today()), campaignId: campaign, scheduledAt: when, status: SMSStatus.queued.rawValue,
                        attempts: 0, createdAt: timestamp()))
            }
            return ((campaign, recipients.count), campaign)
        }
    }

    /// Messages are queued at central or a call center (the policy's writers): a ward gateway's
    /// users get this, not the replica's refusal.
    func requireSMSNode() throws(CRMError) {
        guard replica.role != .ward else { throw CRMError(.forbidden, "text messages are sent from central or a call center, not a ward gateway") }
    }

    /// Sends what is due through the gateway: skips opted-out numbers (cancelled) and numbers that
    /// reached their daily cap (they stay queued for tomorrow). Run by the node that owns the gateway.
    public func dispatch(gateway: any SMSGateway, limit: Int = 500) async throws -> DispatchReport {
        let now = timestamp()
        let day = today()
        let cap = try await crm.organisation.setting("smsDailyCap", default: Self.defaultSMSDailyCap)
        var report = DispatchReport()
        report.failed += try await settleInterruptedSends()
        let due = try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, phone, body, attempts FROM smsMessage WHERE status = 'queued' AND scheduledAt <= ? ORDER BY scheduledAt, id LIMIT ?",
                arguments: [now, limit]
            ).map { (id: $0["id"] as String, phone: $0["phone"] as String?, body: $0["body"] as String?, attempts: $0["attempts"] as Int? ?? 0) }
        }
        for message in due {
            let id = message.id
            if try await read({ db in try Bool.fetchOne(db, sql: "SELECT 1 FROM crm_sms_attempt WHERE messageId = ?", arguments: [id]) ?? false }) {
                continue  // settled above, or by a delivery report meanwhile
            }
            // A message without a number or a text (from before the columns were required) is failed, never sent.
            guard let phone = message.phone.flatMap(PhoneNumber.normalize), let body = message.body, !body.isEmpty else {
                try await change(.system, "sms.failed", "smsMessage") { tx in
                    try tx.update(SMSMessageRecord.self, id: id, [.status: SMSStatus.failed.rawValue, .error: "no valid phone number or text"])
                    return ((), id)
                }
                report.failed += 1
                continue
            }
            let (stillQueued, optedOut, sentToday) = try await read { db in
                (
                    try String.fetchOne(db, sql: "SELECT status FROM smsMessage WHERE id = ?", arguments: [id]) == SMSStatus.queued.rawValue,
                    try Bool.fetchOne(db, sql: "SELECT 1 FROM smsOptOut WHERE id = ? AND active = 1", arguments: [phone]) ?? false,
                    try Int.fetchOne(
                        db, sql: "SELECT COUNT(*) FROM smsMessage WHERE phone = ? AND sentAt >= ? AND status IN ('sent', 'delivered')",
                        arguments: [phone, day]) ?? 0
                )
            }
            guard stillQueued else { continue }  // cancelled by staff since the round began
            if optedOut {
                try await change(.system, "sms.cancel", "smsMessage") { tx in
                    try tx.update(SMSMessageRecord.self, id: id, [.status: SMSStatus.cancelled.rawValue, .error: "opted out"])
                    return ((), id)
                }
                report.cancelledOptedOut += 1
                continue
            }
            if sentToday >= cap { report.deferredByDailyCap += 1; continue }
            // A survey link is written in now: its token is in no replica, only in the text sent.
            var text = body
            if body.contains(CRM.Surveys.linkPlaceholder) {
                do {
                    text = body.replacingOccurrences(of: CRM.Surveys.linkPlaceholder, with: try await crm.surveys.link(forMessage: id))
                } catch let error as CRMError {
                    try await change(.system, "sms.failed", "smsMessage") { tx in
                        try tx.update(SMSMessageRecord.self, id: id, [.status: SMSStatus.failed.rawValue, .error: String(error.message.prefix(200))])
                        return ((), id)
                    }
                    report.failed += 1
                    continue
                }
            }
            // The count is replicated (policy `max`): bounded here, so no peer's number makes it trap.
            let attempts = min(max(message.attempts, 0), Self.maximumAttempts) + 1
            if Task.isCancelled { break }
            // Written before the gateway is called and removed with the outcome: a message found
            // here at the next round was handed over by a node that stopped before it knew the
            // outcome, and is never sent a second time on its own.
            // Checked and recorded in one write: a cancel before it wins, a cancel after it is
            // refused ("being handed to the gateway").
            let handedOver = try await replica.writeLocal { db -> Bool in
                guard try String.fetchOne(db, sql: "SELECT status FROM smsMessage WHERE id = ?", arguments: [id]) == SMSStatus.queued.rawValue else { return false }
                try db.execute(sql: "INSERT OR REPLACE INTO crm_sms_attempt (messageId, startedAt) VALUES (?, ?)", arguments: [id, now])
                return true
            }
            guard handedOver else { continue }
            do {
                let receipt = try await gateway.send(OutgoingSMS(messageId: id, phone: phone, body: text))
                try await recordOutcome(of: id, attempts: attempts, .success(receipt))
                report.sent += 1
            } catch let error as SMSGatewayError where error.outcomeUnknown {
                // Maybe sent: the hand-over record stays; a report or the settling decides.
                report.unknown += 1
            } catch {
                let failure = (error as? SMSGatewayError) ?? SMSGatewayError(reason: "gateway error", transient: true)
                let reason = SMSGatewayError(reason: String(failure.reason.prefix(200)), transient: failure.transient)
                if reason.transient, attempts < Self.maximumSendAttempts {
                    try await recordOutcome(of: id, attempts: attempts, .failure(reason), retryAt: retryTime(after: attempts))
                    report.retried += 1
                } else {
                    try await recordOutcome(of: id, attempts: attempts, .failure(reason))
                    report.failed += 1
                }
            }
        }
        return report
    }

    /// Records what the gateway did with a message, even while the node shuts down: GRDB's async
    /// write gives up when its task is cancelled, and a message left queued would go out again
    /// after the restart. The write runs in a task of its own, which the caller's cancellation
    /// does not reach. With `retryAt` a transient failure leaves the message queued for then.
    private func recordOutcome(of id: String, attempts: Int, _ outcome: Result<GatewayReceipt, SMSGatewayError>, retryAt: String? = nil) async throws {
        let action = if case .success = outcome { "sms.sent" } else { retryAt == nil ? "sms.failed" : "sms.retry" }
        try await Task {
            try await change(.system, action, "smsMessage") { tx in
                switch outcome {
                case .success(let receipt):
                    var values: [SMSMessageRecord.Columns: (any DatabaseValueConvertible)?] = [
                        .status: SMSStatus.sent.rawValue, .attempts: attempts, .gatewayRef: receipt.reference, .sentAt: timestamp(), .error: nil,
                    ]
                    if receipt.delivered == true { values[.status] = SMSStatus.delivered.rawValue; values[.deliveredAt] = timestamp() }
                    // A report that came before this outcome was recorded keeps its word.
                    if let status = try String.fetchOne(tx.db, sql: "SELECT status FROM smsMessage WHERE id = ?", arguments: [id]),
                        status == SMSStatus.delivered.rawValue || status == SMSStatus.failed.rawValue
                    {
                        values[.status] = status
                    }
                    try tx.update(SMSMessageRecord.self, id: id, values)
                case .failure(let error):
                    if let retryAt {
                        try tx.update(SMSMessageRecord.self, id: id, [.attempts: attempts, .scheduledAt: retryAt, .error: error.reason])
                    } else {
                        try tx.update(SMSMessageRecord.self, id: id, [.status: SMSStatus.failed.rawValue, .attempts: attempts, .error: error.reason])
                    }
                }
                try tx.db.execute(sql: "DELETE FROM crm_sms_attempt WHERE messageId = ?", arguments: [id])
                return ((), id)
            }
        }.value
    }

    /// Tries after a transient failure: 30 s, 1, 2, 4, 8 min… at most an hour apart.
    private func retryTime(after attempts: Int) -> String {
        let seconds = min(30.0 * pow(2, Double(max(attempts - 1, 0))), 3_600)
        return time.timestamp(crm.now().addingTimeInterval(seconds))
    }

    /// Messages a node handed to the gateway without learning the outcome (it stopped meanwhile)
    /// and that no report has settled since: failed with a reason saying so, never sent again on
    /// their own (an agent may resend one after checking). Returns how many.
    private func settleInterruptedSends() async throws -> Int {
        let stale = time.timestamp(crm.now().addingTimeInterval(-Self.attemptSettleSeconds))
        let interrupted = try await read { db in
            try String.fetchAll(db, sql: "SELECT messageId FROM crm_sms_attempt WHERE startedAt < ?", arguments: [stale])
        }
        for id in interrupted {
            try await change(.system, "sms.failed", "smsMessage") { tx in
                let status = try String.fetchOne(tx.db, sql: "SELECT status FROM smsMessage WHERE id = ?", arguments: [id])
                if status == SMSStatus.queued.rawValue {
                    try tx.update(
                        SMSMessageRecord.self, id: id,
                        [.status: SMSStatus.failed.rawValue, .error: "outcome unknown: the node stopped while sending; resend only if the patient did not get it"])
                }
                try tx.db.execute(sql: "DELETE FROM crm_sms_attempt WHERE messageId = ?", arguments: [id])
                return ((), id)
            }
        }
        return interrupted.count
    }

    /// A delivery report from the gateway, matched by the gateway's reference.
    public func recordDeliveryReport(reference: String, delivered: Bool, error: String?) async throws {
        let id = try await read { db in try String.fetchOne(db, sql: "SELECT id FROM smsMessage WHERE gatewayRef = ?", arguments: [reference]) }
        guard let id else { throw CRMError.notFound("SMS with gateway reference", reference) }
        try await recordGatewayReport(messageId: id, delivered: delivered, error: error)
    }

    /// A delivery report naming the message itself (Kannel's `dlr-url` carries our id): delivered
    /// (true), not delivered with a reason (false), or taken by the SMS centre (nil). A report for
    /// a message whose sending was interrupted settles it.
    public func recordGatewayReport(messageId id: String, delivered: Bool?, error: String?) async throws {
        try await change(.system, "sms.report", "smsMessage") { tx in
            guard let status = try String.fetchOne(tx.db, sql: "SELECT status FROM smsMessage WHERE id = ?", arguments: [id]) else {
                throw CRMError.notFound("SMS", id)
            }
            var values: [SMSMessageRecord.Columns: (any DatabaseValueConvertible)?] = [:]
            switch delivered {
            case true?: values = [.status: SMSStatus.delivered.rawValue, .deliveredAt: timestamp()]
            case false?: values = [.status: SMSStatus.failed.rawValue, .error: String((error ?? "not delivered").prefix(200))]
            case nil where status == SMSStatus.queued.rawValue: values = [.status: SMSStatus.sent.rawValue, .sentAt: timestamp()]
            case nil: break
            }
            // A delivered message stays delivered whatever report comes late.
            if status != SMSStatus.delivered.rawValue, !values.isEmpty { try tx.update(SMSMessageRecord.self, id: id, values) }
            try tx.db.execute(sql: "DELETE FROM crm_sms_attempt WHERE messageId = ?", arguments: [id])
            return ((), id)
        }
    }

    /// Puts a failed message back in the queue.
    public func resend(_ caller: Caller, id: String) async throws {
        try requireSMSNode()
        try caller.require(.manager, .agent)
        try await change(caller, "sms.resend", "smsMessage") { tx in
            guard let status = try String.fetchOne(tx.db, sql: "SELECT status FROM smsMessage WHERE id = ?", arguments: [id]) else {
                throw CRMError.notFound("SMS", id)
            }
            guard status == SMSStatus.failed.rawValue else { throw CRMError.conflict("only a failed message can be resent (this one is '\(status)')") }
            try tx.update(SMSMessageRecord.self, id: id, [.status: SMSStatus.queued.rawValue, .scheduledAt: timestamp(), .error: nil])
            return ((), id)
        }
    }

    /// An inbound SMS. "T", "TD" or "退订" opts the number out of all SMS (回T退订).
    public func receive(phone: String, body: String) async throws {
        guard let number = PhoneNumber.normalize(phone) else { throw CRMError.unprocessable("not a phone number") }
        let text = String(body.prefix(500))
        let command = text.trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
        try await change(.system, "sms.inbound", "smsInbound") { tx in
            let id = try tx.insert(SMSInboundRecord(phone: number, body: text, receivedAt: timestamp()))
            if ["T", "TD", "退订", "N"].contains(command) {
                try tx.upsert(SMSOptOutRecord(id: number, active: 1, source: "reply", at: timestamp()))
            }
            return ((), id)
        }
    }
}
