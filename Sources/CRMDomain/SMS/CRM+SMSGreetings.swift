import Foundation
import GRDB
import Replica

/// The messages the SMS node queues on its own, through the outbox like any other: birthday
/// greetings, holiday greetings on a public holiday's first day (from the working calendar),
/// appointment reminders the day before, and the messages of SMS follow-up rules. Each is switched on by its template existing, and each
/// message's id is derived from what caused it, so a chore run twice, or on two nodes, queues
/// one message.
extension CRM.SMS {
    /// The template sent on patients' birthdays.
    public static let birthdayTemplate = "birthday"
    /// The holiday greeting's template, unless a template of kind `holiday` is named like the holiday.
    public static let holidayTemplate = "holiday"
    /// The template of the reminder sent the day before an appointment.
    public static let appointmentReminderTemplate = "appointmentReminder"
    /// When birthday and holiday greetings go out (setting `greetingTime`, `HH:mm`).
    public static let defaultGreetingTime = "09:00"
    /// When reminders go out on the day before (setting `appointmentReminderTime`, `HH:mm`).
    public static let defaultReminderTime = "10:00"
    /// Holiday greetings go to patients discharged within this many days (setting `holidayGreetingDays`).
    public static let defaultHolidayGreetingDays = 365

    /// Queues birthday greetings for patients born on `day`'s month and day, with the birthday
    /// template. Ids are derived from (patient, year), so running it on two nodes sends one greeting.
    @discardableResult
    public func queueBirthdayGreetings(_ caller: Caller, day: String? = nil, templateId: String) async throws -> Int {
        try requireSMSNode()
        if caller != .system { try caller.require(.manager, .admin) }
        let day = day ?? today()
        guard time.isDay(day) else { throw CRMError.invalid("day must be yyyy-MM-dd") }
        let sendAt = try await scheduledTime(on: day, setting: "greetingTime", default: Self.defaultGreetingTime)
        return try await change(caller, "sms.birthday", "smsMessage") { tx in
            guard let body = try String.fetchOne(tx.db, sql: "SELECT body FROM smsTemplate WHERE id = ?", arguments: [templateId]) else {
                throw CRMError.notFound("SMS template", templateId)
            }
            let graph = try CRM.Patients.mergeGraph(tx.db)
            let rows = try Row.fetchAll(
                tx.db,
                sql: """
                    SELECT * FROM patient p WHERE substr(p.birthDate, 6, 5) = ? AND p.phone IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM smsOptOut o WHERE o.id = p.phone AND o.active = 1)
                    AND NOT EXISTS (SELECT 1 FROM blacklist b WHERE b.id = p.phone AND b.active = 1)
                    """, arguments: [String(day.dropFirst(5))])
            var queued = 0
            for patient in rows where !graph.isMergedAway(patient["id"]) {
                let id = DerivedID.make("sms", "birthday", patient["id"], String(day.prefix(4)))
                if try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM smsMessage WHERE id = ?", arguments: [id]) == true { continue }
                try tx.insert(
                    SMSMessageRecord(
                        id: id, patientId: patient["id"], phone: patient["phone"], body: try render(body, patient: patient, db: tx.db, day: day),
                        scheduledAt: sendAt, status: SMSStatus.queued.rawValue, attempts: 0, createdAt: timestamp()))
                queued += 1
            }
            return (queued, "birthday-\(day)")
        }
    }

    /// Queues holiday greetings when `day` is the first day of a public holiday (the shipped
    /// State Council schedule or the hospital's own calendar days), to every patient discharged
    /// within `holidayGreetingDays` days, at `greetingTime` (09:00). The template is the `holiday` template, or one of
    /// kind `holiday` named like the holiday (春节…). Returns how many it queued, or nil when
    /// `day` opens no holiday or no template is there (nothing ran: worth asking again later).
    @discardableResult
    public func queueHolidayGreetings(_ caller: Caller, day: String? = nil) async throws -> Int? {
        try requireSMSNode()
        if caller != .system { try caller.require(.manager, .admin) }
        let day = day ?? today()
        guard time.isDay(day) else { throw CRMError.invalid("day must be yyyy-MM-dd") }
        guard let holiday = try await crm.organisation.workingCalendar().holidayStarting(on: day) else { return nil }
        let reach = min(max(try await crm.organisation.setting("holidayGreetingDays", default: Self.defaultHolidayGreetingDays), 1), 3_660)
        guard let since = time.day(day, plus: -reach) else { return nil }
        let template = try await read { db in
            try String.fetchOne(db, sql: "SELECT body FROM smsTemplate WHERE kind = 'holiday' AND name = ? ORDER BY id LIMIT 1", arguments: [holiday])
                ?? String.fetchOne(db, sql: "SELECT body FROM smsTemplate WHERE id = ?", arguments: [Self.holidayTemplate])
        }
        guard let template else { return nil }
        let sendAt = try await scheduledTime(on: day, setting: "greetingTime", default: Self.defaultGreetingTime)
        return try await change(caller, "sms.holiday", "smsMessage") { tx -> (Int?, String) in
            let audience = SMSAudience(dischargedSince: since, dischargedUntil: day)
            var queued = 0
            for recipient in try audience.recipients(tx.db, graph: CRM.Patients.mergeGraph(tx.db)) {
                // No greeting to a patient who died in hospital.
                if try Bool.fetchOne(
                    tx.db, sql: "SELECT 1 FROM encounter WHERE patientId = ? AND dischargeStatus = 'died' AND cancelled IS NOT 1", arguments: [recipient.patientId])
                    == true
                {
                    continue
                }
                let id = DerivedID.make("sms", "holiday", recipient.patientId, day)
                if try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM smsMessage WHERE id = ?", arguments: [id]) == true { continue }
                let patient = try Row.fetchOne(tx.db, sql: "SELECT * FROM patient WHERE id = ?", arguments: [recipient.patientId])
                try tx.insert(
                    SMSMessageRecord(
                        id: id, patientId: recipient.patientId, phone: recipient.phone,
                        body: try render(template, patient: patient, db: tx.db, day: day, values: ["holiday": holiday]),
                        scheduledAt: sendAt, status: SMSStatus.queued.rawValue, attempts: 0, createdAt: timestamp()))
                queued += 1
            }
            return (queued, "holiday-\(day)")
        }
    }

    /// What one reminder run did.
    public struct ReminderReport: Sendable, Hashable {
        public var queued = 0
        /// Queued reminders of appointments cancelled (on a ward, say) before they went out.
        public var cancelled = 0

        public init(queued: Int = 0, cancelled: Int = 0) {
            self.queued = queued
            self.cancelled = cancelled
        }
    }

    /// Queues the reminder of every appointment booked for the day after `day`, to go out on `day`
    /// at `appointmentReminderTime` (or at once when that has passed), and cancels queued reminders
    /// whose appointment was cancelled. Cheap when there is nothing to do: it reads, and
    /// writes only what changes; the SMS node runs it every few seconds.
    @discardableResult
    public func queueAppointmentReminders(day: String? = nil) async throws -> ReminderReport {
        try requireSMSNode()
        let day = day ?? today()
        guard let tomorrow = time.day(day, plus: 1), let after = time.day(day, plus: 2) else { throw CRMError.invalid("day must be yyyy-MM-dd") }
        let work = try await read { db in
            let template = try String.fetchOne(db, sql: "SELECT body FROM smsTemplate WHERE id = ?", arguments: [Self.appointmentReminderTemplate])
            var remind: [DueReminder] = []
            var cancel: [String] = []
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT a.id, a.patientId, a.status, a.departmentId, a.scheduledAt, m.status AS reminder FROM appointment a
                    LEFT JOIN smsMessage m ON m.id = ? || a.id
                    WHERE a.scheduledAt >= ? AND a.scheduledAt < ?
                    """, arguments: [Self.reminderPrefix, tomorrow, after])
            // Only patients a reminder can reach: else every round would write nothing, audited.
            var graph: MergeGraph?
            func reachable(_ patientId: String) throws -> Bool {
                if graph == nil { graph = try CRM.Patients.mergeGraph(db) }
                let root = graph?.root(of: patientId) ?? patientId
                guard let phone = try String.fetchOne(db, sql: "SELECT phone FROM patient WHERE id = ?", arguments: [root]) else { return false }
                return try !Self.isBarred(phone, db)
            }
            for row in rows {
                let status: String? = row["status"], reminder: String? = row["reminder"]
                if status == AppointmentStatus.booked.rawValue, reminder == nil, template != nil, try reachable(row["patientId"] ?? "") {
                    remind.append(DueReminder(appointmentId: row["id"], patientId: row["patientId"] ?? "", departmentId: row["departmentId"], scheduledAt: row["scheduledAt"]))
                } else if status == AppointmentStatus.cancelled.rawValue || status == AppointmentStatus.noShow.rawValue,
                    reminder == SMSStatus.queued.rawValue
                {
                    cancel.append(row["id"])
                }
            }
            return (template: template, remind: remind, cancel: cancel)
        }
        guard !work.remind.isEmpty || !work.cancel.isEmpty else { return ReminderReport() }
        let planned = try await scheduledTime(on: day, setting: "appointmentReminderTime", default: Self.defaultReminderTime)
        let now = timestamp()
        return try await change(.system, "sms.reminder", "smsMessage") { tx in
            var report = ReminderReport()
            let graph = try CRM.Patients.mergeGraph(tx.db)
            for appointment in work.remind {
                let id = Self.reminderID(appointment.appointmentId)
                guard try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM smsMessage WHERE id = ?", arguments: [id]) != true else { continue }
                // A merged-away archive's appointment reminds the surviving archive's number.
                let patientId = graph.root(of: appointment.patientId)
                guard let patient = try Row.fetchOne(tx.db, sql: "SELECT * FROM patient WHERE id = ?", arguments: [patientId]),
                    let phone = patient["phone"] as String?, try !Self.isBarred(phone, tx.db)
                else { continue }
                let department = try String.fetchOne(tx.db, sql: "SELECT name FROM department WHERE id = ?", arguments: [appointment.departmentId])
                let body = try render(
                    work.template ?? "", patient: patient, db: tx.db, day: tomorrow,
                    values: ["time": String(appointment.scheduledAt.dropFirst(11).prefix(5)), "department": department ?? ""])
                try tx.insert(
                    SMSMessageRecord(
                        id: id, patientId: patientId, phone: phone, body: body, scheduledAt: max(planned, now), status: SMSStatus.queued.rawValue,
                        attempts: 0, createdAt: now))
                report.queued += 1
            }
            for appointment in work.cancel where try Self.cancelReminder(ofAppointment: appointment, tx) {
                report.cancelled += 1
            }
            return (report, "reminders-\(day)")
        }
    }

    /// From `greetingTime` on `day`, queues the SMS of every SMS rule's task due by then (e.g.
    /// thanks the day after discharge), to go at once, and closes the task. A task whose patient
    /// has no number or opted out, or that is more than ``ruleMessageGraceDays`` late, is closed
    /// with a note saying so. Withdrawn tasks (a cancelled discharge) send nothing. Returns how
    /// many it queued.
    @discardableResult
    public func sendRuleMessages(day: String? = nil) async throws -> Int {
        try requireSMSNode()
        let day = day ?? today()
        guard time.isDay(day) else { throw CRMError.invalid("day must be yyyy-MM-dd") }
        let kind = CRM.FollowUps.smsTaskKind
        // Queued only from `greetingTime` on the day, and sent at once: until then a cancelled
        // discharge still withdraws the task, and nothing goes out at night.
        let planned = try await scheduledTime(on: day, setting: "greetingTime", default: Self.defaultGreetingTime)
        guard timestamp() >= planned else { return 0 }
        let due = try await read { db in
            try String.fetchAll(
                db, sql: "SELECT id FROM followUpTask WHERE kind = ? AND dueDate <= ? AND doneAt IS NULL AND withdrawn IS NOT 1 ORDER BY dueDate, id LIMIT 500",
                arguments: [kind, day])
        }
        guard !due.isEmpty else { return 0 }
        // A task overdue by more than this (a rule applied to old encounters, a back-filled import)
        // is closed unsent: "thanks for yesterday" a month later helps no one.
        let oldest = time.day(day, plus: -Self.ruleMessageGraceDays) ?? day
        let linkDays = try await crm.organisation.setting("surveyLinkDays", default: CRM.Surveys.defaultLinkDays)
        return try await change(.system, "sms.rule", "smsMessage") { tx in
            let now = timestamp()
            let graph = try CRM.Patients.mergeGraph(tx.db)
            var queued = 0
            for taskID in due {
                guard let task = try Row.fetchOne(tx.db, sql: "SELECT * FROM followUpTask WHERE id = ?", arguments: [taskID]).map(FollowUpTask.init(row:)),
                    task.doneAt == nil, !task.withdrawn
                else { continue }
                let patientId = graph.root(of: task.patientId)
                let patient = try Row.fetchOne(tx.db, sql: "SELECT * FROM patient WHERE id = ?", arguments: [patientId])
                let template = try task.templateId.flatMap { id in try String.fetchOne(tx.db, sql: "SELECT body FROM smsTemplate WHERE id = ?", arguments: [id]) }
                // A text with a survey link opens the rule's survey.
                let survey =
                    template?.contains(CRM.Surveys.linkPlaceholder) == true
                    ? try String.fetchOne(tx.db, sql: "SELECT templateId FROM followUpRule WHERE id = ?", arguments: [task.ruleId]) : nil
                var note: String?
                if task.dueDate < oldest {
                    note = "no SMS sent: due \(task.dueDate), more than \(Self.ruleMessageGraceDays) days ago"
                } else if template?.contains(CRM.Surveys.linkPlaceholder) == true, survey == nil {
                    note = "no SMS sent: the rule names no survey for its {surveyLink}"
                } else if let patient, let phone = patient["phone"] as String?, let template, try !Self.isBarred(phone, tx.db) {
                    let id = DerivedID.make("sms", "task", taskID)
                    if try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM smsMessage WHERE id = ?", arguments: [id]) != true {
                        if let survey {
                            guard try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM surveyTemplate WHERE id = ?", arguments: [survey]) == true else {
                                // One rule naming a survey that is gone closes its own task, not the whole round.
                                try tx.update(FollowUpTaskRecord.self, id: taskID, [.doneAt: now, .note: "no SMS sent: the rule's survey is gone"])
                                continue
                            }
                            try crm.surveys.invite(
                                tx, messageId: id, patientId: patientId, templateId: survey, departmentId: task.departmentId, wardId: task.wardId,
                                taskId: taskID, days: linkDays)
                        }
                        let department = try String.fetchOne(tx.db, sql: "SELECT name FROM department WHERE id = ?", arguments: [task.departmentId])
                        try tx.insert(
                            SMSMessageRecord(
                                id: id, patientId: patientId, phone: phone,
                                body: try render(template, patient: patient, db: tx.db, day: task.dueDate, values: ["department": department ?? ""]),
                                scheduledAt: now, status: SMSStatus.queued.rawValue, attempts: 0, createdAt: now))
                        queued += 1
                    }
                } else {
                    note = template == nil ? "no SMS sent: the rule's SMS template is gone" : "no SMS sent: no phone number, or the number opted out"
                }
                try tx.update(FollowUpTaskRecord.self, id: taskID, [.doneAt: now, .note: note ?? task.note])
            }
            return (queued, "rule-sms-\(day)")
        }
    }

    /// How many days late an SMS rule's text may still go out.
    public static let ruleMessageGraceDays = 3

    /// An appointment whose reminder is not queued yet.
    struct DueReminder: Sendable {
        var appointmentId: String
        var patientId: String
        var departmentId: String?
        /// Local ISO-8601; `{time}` is its `HH:mm`.
        var scheduledAt: String
    }

    static let reminderPrefix = "sms-reminder-"

    /// The reminder of an appointment: one per appointment, whichever node queues it.
    static func reminderID(_ appointmentId: String) -> String { reminderPrefix + appointmentId }

    /// Cancels an appointment's reminder if it is still queued. Returns whether it did.
    static func cancelReminder(ofAppointment appointmentId: String, _ tx: ReplicaTransaction) throws -> Bool {
        let id = reminderID(appointmentId)
        guard try String.fetchOne(tx.db, sql: "SELECT status FROM smsMessage WHERE id = ?", arguments: [id]) == SMSStatus.queued.rawValue,
            try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM crm_sms_attempt WHERE messageId = ?", arguments: [id]) != true
        else { return false }
        try tx.update(SMSMessageRecord.self, id: id, [.status: SMSStatus.cancelled.rawValue, .error: "the appointment was cancelled"])
        return true
    }

    /// Whether a number opted out or is blacklisted.
    static func isBarred(_ phone: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: """
                SELECT EXISTS (SELECT 1 FROM smsOptOut WHERE id = ?1 AND active = 1) OR EXISTS (SELECT 1 FROM blacklist WHERE id = ?1 AND active = 1)
                """, arguments: [phone]) ?? false
    }

    /// `day` at the time of day a setting names (`HH:mm`), in the hospital's time.
    func scheduledTime(on day: String, setting: String, default fallback: String) async throws -> String {
        let time = try await crm.organisation.settings()[setting].flatMap(Self.clockTime) ?? fallback
        return day + "T" + time + ":00" + String(timestamp().suffix(6))
    }

    /// `HH:mm` if the text is a time of day.
    static func clockTime(_ text: String) -> String? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 }), let hour = Int(parts[0]), let minute = Int(parts[1]),
            (0..<24).contains(hour), (0..<60).contains(minute)
        else { return nil }
        return text
    }
}
