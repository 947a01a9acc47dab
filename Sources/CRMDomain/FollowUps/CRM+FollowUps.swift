import Foundation
import GRDB
import Replica

extension CRM.FollowUps {
    // MARK: - Rules

    /// Creates or updates a follow-up rule (managers). New encounters get its tasks from now on;
    /// ``applyRule(_:ruleId:since:)`` produces them for earlier ones.
    public func saveRule(_ caller: Caller, _ rule: FollowUpRule) async throws -> String {
        if caller != .system { try caller.require(.manager, .admin) }
        try rule.validate()
        let filter = String(decoding: try JSONEncoder().encode(rule.filter), as: UTF8.self)
        let record = FollowUpRuleRecord(
            id: rule.id, name: rule.name, kind: rule.kind.rawValue, triggerEvent: rule.triggerEvent.rawValue,
            offsets: rule.offsets.map { $0.map(String.init).joined(separator: ",") }, intervalDays: rule.intervalDays,
            repeatCount: rule.repeatCount, filter: filter, templateId: rule.templateId, active: rule.active ? 1 : 0, createdAt: timestamp(),
            intervalMonths: rule.intervalMonths, action: rule.action?.rawValue, smsTemplateId: rule.smsTemplateId)
        return try await change(caller, "rule.save", "followUpRule") { tx in
            if let id = rule.id, !(try tx.rowExists("followUpRule", id: id)) { throw CRMError.notFound("rule", id) }
            if let sms = rule.smsTemplateId, try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM smsTemplate WHERE id = ?", arguments: [sms]) != true {
                throw CRMError.notFound("SMS template", sms)
            }
            if let survey = rule.templateId, try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM surveyTemplate WHERE id = ?", arguments: [survey]) != true {
                throw CRMError.notFound("survey template", survey)
            }
            let id = try tx.upsert(record)
            return (id, id)
        }
    }

    /// Every rule, oldest first.
    public func rules() async throws -> [FollowUpRule] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM followUpRule ORDER BY id").map(FollowUpRule.init(row:)) }
    }

    /// The encounters since `since` (their trigger day) a rule would match, for the rule editor's preview.
    public func previewRule(_ caller: Caller, _ rule: FollowUpRule, since: String) async throws -> RulePreview {
        try caller.require(.manager, .admin)
        try rule.validate()
        guard time.isDay(since) else { throw CRMError.invalid("since must be yyyy-MM-dd") }
        return try await read { db in
            let encounters = try Self.triggered(db, by: rule.triggerEvent, since: since).filter { rule.filter.matches($0, time: time) }
            return RulePreview(
                encounters: encounters.count, patients: Set(encounters.map(\.patientId)).count,
                tasks: encounters.count * rule.tasksPerTrigger, sample: Array(encounters.prefix(20).map(\.id)))
        }
    }

    /// Produces a rule's tasks for encounters triggered since `since` (a rule made after them).
    /// Tasks that already exist are left alone.
    @discardableResult
    public func applyRule(_ caller: Caller, ruleId: String, since: String) async throws -> Int {
        if caller != .system { try caller.require(.manager, .admin) }
        guard time.isDay(since) else { throw CRMError.invalid("since must be yyyy-MM-dd") }
        return try await change(caller, "rule.apply", "followUpRule") { tx in
            guard let row = try Row.fetchOne(tx.db, sql: "SELECT * FROM followUpRule WHERE id = ?", arguments: [ruleId]) else {
                throw CRMError.notFound("rule", ruleId)
            }
            let rule = try FollowUpRule(row: row)
            var made = 0
            for encounter in try Self.triggered(tx.db, by: rule.triggerEvent, since: since) where rule.filter.matches(encounter, time: time) {
                let at = rule.triggerEvent == .discharge ? encounter.dischargedAt! : encounter.admittedAt
                made += try produceRuleTasks(tx, rule, for: encounter, at: at)
            }
            return (made, ruleId)
        }
    }

    static func triggered(_ db: Database, by trigger: TriggerEvent, since: String) throws -> [Encounter] {
        let sql =
            switch trigger {
            case .admission: "SELECT * FROM encounter WHERE kind = 'inpatient' AND admittedAt >= ? AND cancelled IS NOT 1 ORDER BY id"
            case .visit: "SELECT * FROM encounter WHERE kind = 'outpatient' AND admittedAt >= ? AND cancelled IS NOT 1 ORDER BY id"
            case .discharge: "SELECT * FROM encounter WHERE dischargedAt >= ? AND cancelled IS NOT 1 ORDER BY id"
            }
        return try Row.fetchAll(db, sql: sql, arguments: [since]).map(Encounter.init(row:))
    }

    // MARK: - Producing and withdrawing tasks

    /// The kind of a task an SMS rule produces: its `templateId` is the SMS template.
    public static let smsTaskKind = "sms"

    /// The tasks an admission, visit or discharge produces, in the same transaction. Ids are
    /// derived from (what, encounter, trigger time), so a second node doing the same writes nothing new.
    func produceTasks(_ tx: ReplicaTransaction, for encounter: Encounter, trigger: TriggerEvent, at: String) throws {
        guard let instant = time.parseTimestamp(at) else { return }
        switch trigger {
        case .admission:
            try insertTask(
                tx, id: DerivedID.make("task", "bedside24h", encounter.id, at), encounter: encounter, kind: "bedside24h",
                trigger: trigger, dueDate: time.day(instant), dueBy: time.timestamp(instant.addingTimeInterval(24 * 3600)))
        case .discharge:
            try insertTask(
                tx, id: DerivedID.make("task", "discharge72h", encounter.id, at), encounter: encounter, kind: "discharge72h",
                trigger: trigger, dueDate: time.day(instant.addingTimeInterval(24 * 3600)),
                dueBy: time.timestamp(instant.addingTimeInterval(72 * 3600)))
        case .visit:
            break
        }
        let rules = try Row.fetchAll(tx.db.cachedStatement(sql: "SELECT * FROM followUpRule WHERE active = 1 AND triggerEvent = ?"), arguments: [trigger.rawValue])
        for rule in try rules.map(FollowUpRule.init(row:)) where rule.filter.matches(encounter, time: time) {
            try produceRuleTasks(tx, rule, for: encounter, at: at)
        }
    }

    @discardableResult
    func produceRuleTasks(_ tx: ReplicaTransaction, _ rule: FollowUpRule, for encounter: Encounter, at: String) throws -> Int {
        guard let ruleID = rule.id, let day = time.dayOfTimestamp(at) else { return 0 }
        var made = 0
        for (due, step) in rule.dueDays(after: day, time: time) {
            let id = DerivedID.make("task", "rule", ruleID, encounter.id, at, step)
            // An SMS rule's task is sent by central (CRM.SMS.sendRuleMessages), not called.
            if try insertTask(
                tx, id: id, encounter: encounter, kind: rule.sendsSMS ? Self.smsTaskKind : "rule", trigger: rule.triggerEvent, dueDate: due, dueBy: nil,
                ruleID: ruleID, templateID: rule.sendsSMS ? rule.smsTemplateId : rule.templateId)
            {
                made += 1
            }
        }
        return made
    }

    @discardableResult
    private func insertTask(
        _ tx: ReplicaTransaction, id: String, encounter: Encounter, kind: String, trigger: TriggerEvent,
        dueDate: String, dueBy: String?, ruleID: String? = nil, templateID: String? = nil
    ) throws -> Bool {
        // Bound to the encounter's ward, so a ward node may create it and no other ward can.
        let id = encounter.wardId.map { BoundRowID.bind(id, toWard: $0) } ?? id
        if try Bool.fetchOne(tx.db.cachedStatement(sql: "SELECT 1 FROM followUpTask WHERE id = ?"), arguments: [id]) == true { return false }
        do {
            try tx.insert(
                FollowUpTaskRecord(
                    id: id, patientId: encounter.patientId, kind: kind, dueDate: dueDate, dueBy: dueBy, encounterId: encounter.id, ruleId: ruleID,
                    triggerEvent: trigger.rawValue, templateId: templateID, wardId: encounter.wardId, departmentId: encounter.departmentId, attempts: 0,
                    withdrawn: 0, createdAt: timestamp()))
        } catch let error as ReplicaError where error.code == .rowDeleted {
            return false
        }
        return true
    }

    /// Withdraws the open tasks an encounter produced (all of them, or those of one trigger).
    func withdrawTasks(_ tx: ReplicaTransaction, encounterId: String, trigger: TriggerEvent?) throws {
        var sql = "SELECT id FROM followUpTask WHERE encounterId = ? AND doneAt IS NULL AND withdrawn IS NOT 1"
        var arguments: StatementArguments = [encounterId]
        if let trigger { sql += " AND triggerEvent = ?"; arguments += [trigger.rawValue] }
        for id in try String.fetchAll(tx.db, sql: sql, arguments: arguments) {
            try tx.update(FollowUpTaskRecord.self, id: id, [.withdrawn: 1])
        }
    }

    // MARK: - Working the queue

    /// A one-off task on a chosen day (agents and managers), optionally given to a named agent
    /// (``assign(_:taskId:to:)``).
    public func createTask(
        _ caller: Caller, patientId: String, dueDate: String, note: String?, templateId: String?, assignee: String? = nil
    ) async throws -> String {
        try caller.require(.agent, .manager, .admin)
        guard time.isDay(dueDate) else { throw CRMError.invalid("dueDate must be yyyy-MM-dd") }
        if let note, note.count > 500 { throw CRMError.invalid("note must be at most 500 characters") }
        // An agent keeps a call for themselves; giving work to others is a manager's.
        if caller.role == .agent, let assignee, assignee != caller.userId { throw CRMError(.forbidden, "an agent assigns a call only to themselves") }
        return try await change(caller, "task.create", "followUpTask") { tx in
            guard try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM patient WHERE id = ?", arguments: [patientId]) == true else {
                throw CRMError.notFound("patient", patientId)
            }
            if let templateId, try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM surveyTemplate WHERE id = ?", arguments: [templateId]) != true {
                throw CRMError.notFound("survey template", templateId)
            }
            if let assignee { try Self.checkAssignee(assignee, tx.db) }
            let id = try tx.insert(
                FollowUpTaskRecord(
                    patientId: patientId, kind: "oneOff", dueDate: dueDate, triggerEvent: "none", templateId: templateId, note: note, claimedBy: assignee,
                    attempts: 0, withdrawn: 0, createdAt: timestamp()))
            return (id, id)
        }
    }

    /// Gives an open, unclaimed task to a named agent (managers): it is claimed in their name, so
    /// it is theirs on every desk. A task someone claimed stays theirs (claims are first-writer-wins).
    public func assign(_ caller: Caller, taskId: String, to assignee: String) async throws {
        try caller.require(.manager)
        try await change(caller, "task.assign", "followUpTask") { tx in
            guard let row = try Row.fetchOne(tx.db, sql: "SELECT * FROM followUpTask WHERE id = ?", arguments: [taskId]) else {
                throw CRMError.notFound("task", taskId)
            }
            let task = FollowUpTask(row: row)
            guard !task.withdrawn, task.doneAt == nil else { throw CRMError.conflict("task '\(taskId)' is closed") }
            guard task.kind != "bedside24h", task.kind != Self.smsTaskKind else { throw CRMError.conflict("only a call is given to an agent") }
            if let holder = task.claimedBy, holder != assignee { throw CRMError.conflict("task '\(taskId)' is already claimed by '\(holder)'") }
            try Self.checkAssignee(assignee, tx.db)
            try tx.update(FollowUpTaskRecord.self, id: taskId, [.claimedBy: assignee])
            return ((), taskId)
        }
    }

    /// An assignee is an active agent or manager account.
    static func checkAssignee(_ userId: String, _ db: Database) throws {
        guard let row = try Row.fetchOne(db, sql: "SELECT role, disabled FROM appUser WHERE id = ?", arguments: [userId]),
            ["agent", "manager"].contains(row["role"] as String? ?? ""), (row["disabled"] as Int?) != 1
        else { throw CRMError.unprocessable("assign to an active agent or manager account") }
    }

    /// The follow-ups due on `day` or earlier and not done ("today's follow-ups"), overdue first.
    /// Bedside visitors see their ward's bedside visits; `phoneWork` leaves bedside visits out (the
    /// call center's desk), before paging, so that no number of them hides a call.
    public func queue(
        _ caller: Caller, day: String? = nil, kind: String? = nil, wardId: String? = nil, phoneWork: Bool = false, page: PageRequest
    ) async throws -> Page<QueueEntry> {
        try caller.require(.visitor, .agent, .manager, .admin)
        let day = day ?? today()
        guard time.isDay(day) else { throw CRMError.invalid("day must be yyyy-MM-dd") }
        let nowStamp = timestamp()
        return try await read { db in
            let graph = try CRM.Patients.mergeGraph(db)
            var sql = """
                SELECT t.* FROM followUpTask t LEFT JOIN encounter e ON e.id = t.encounterId
                WHERE t.dueDate <= ? AND t.doneAt IS NULL AND t.withdrawn IS NOT 1 AND e.cancelled IS NOT 1
                """
            var arguments: StatementArguments = [day]
            if caller.role == .visitor {
                // Its own ward's bedside visits, of patients still in its reach (fails closed without a ward).
                sql += " AND t.kind = 'bedside24h' AND t.wardId = ?"
                arguments += [caller.wardId ?? ""]
                if let reach = try crm.reachCondition(caller, patientColumn: "t.patientId", db) {
                    sql += " AND " + reach.sql
                    arguments += reach.arguments
                }
            } else if let kind {
                sql += " AND t.kind = ?"
                arguments += [kind]
            }
            if let wardId { sql += " AND t.wardId = ?"; arguments += [wardId] }
            if phoneWork { sql += " AND t.kind NOT IN ('bedside24h', '\(Self.smsTaskKind)')" }
            if let (key, id) = try page.keyAndID() {
                sql += " AND (t.dueDate, t.id) > (?, ?)"
                arguments += [key, id]
            }
            sql += " ORDER BY t.dueDate, t.id LIMIT ?"
            arguments += [page.limit + 1]
            var entries: [QueueEntry] = []
            for row in try Row.fetchAll(db, sql: sql, arguments: arguments) {
                let task = FollowUpTask(row: row)
                let root = graph.root(of: task.patientId)
                let patient = try Row.fetchOne(db, sql: "SELECT * FROM patient WHERE id = ?", arguments: [root]).map { Patient(row: $0).masked(for: caller) }
                let overdue = task.dueDate < day || (task.dueBy.map { $0 < nowStamp } ?? false)
                entries.append(QueueEntry(task: task, patient: patient, overdue: overdue))
            }
            let page = page.page(entries, id: { "\($0.task.dueDate)|\($0.task.id)" })
            return page
        }
    }

    /// One task.
    public func task(_ id: String) async throws -> FollowUpTask {
        guard let task = try await read({ db in try Row.fetchOne(db, sql: "SELECT * FROM followUpTask WHERE id = ?", arguments: [id]).map(FollowUpTask.init(row:)) }) else {
            throw CRMError.notFound("task", id)
        }
        return task
    }

    /// One task, as a caller may see it: a bedside visitor only its own ward's (else not found).
    public func task(_ caller: Caller, _ id: String) async throws -> FollowUpTask {
        let task = try await task(id)
        guard caller.role != .visitor || caller.isOwnWard(task.wardId) else { throw CRMError.notFound("task", id) }
        return task
    }

    /// Claims a task for the caller. Two agents on one node: the second is refused at once. Two agents
    /// on two nodes: both succeed locally, and when the nodes meet the first claim by clock wins
    /// everywhere; the other agent finds the task in ``lostClaims(_:)``.
    public func claim(_ caller: Caller, taskId: String) async throws -> FollowUpTask {
        try caller.require(.visitor, .agent, .manager)
        try await change(caller, "task.claim", "followUpTask") { tx in
            guard let row = try Row.fetchOne(tx.db, sql: "SELECT claimedBy, doneAt, withdrawn, wardId FROM followUpTask WHERE id = ?", arguments: [taskId]),
                caller.role != .visitor || caller.isOwnWard(row["wardId"] as String?)
            else {
                throw CRMError.notFound("task", taskId)
            }
            guard (row["withdrawn"] as Int?) != 1 else { throw CRMError.conflict("task '\(taskId)' was withdrawn") }
            guard (row["doneAt"] as String?) == nil else { throw CRMError.conflict("task '\(taskId)' is already done") }
            if let holder = row["claimedBy"] as String?, holder != caller.userId {
                throw CRMError.conflict("task '\(taskId)' is already claimed by '\(holder)'")
            }
            try tx.update(FollowUpTaskRecord.self, id: taskId, [.claimedBy: caller.userId])
            try tx.db.execute(sql: "INSERT OR REPLACE INTO crm_claim (taskId, userId, at) VALUES (?, ?, ?)", arguments: [taskId, caller.userId, timestamp()])
            return ((), taskId)
        }
        return try await task(taskId)
    }

    /// Open tasks the caller claimed on this node whose claim lost to a colleague's earlier claim.
    public func lostClaims(_ caller: Caller) async throws -> [LostClaim] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT c.taskId, c.at, t.claimedBy FROM crm_claim c JOIN followUpTask t ON t.id = c.taskId
                    WHERE c.userId = ? AND t.claimedBy IS NOT NULL AND t.claimedBy != c.userId AND t.doneAt IS NULL ORDER BY c.at DESC
                    """, arguments: [caller.userId]
            ).map { LostClaim(taskId: $0["taskId"], claimedAt: $0["at"], winner: $0["claimedBy"]) }
        }
    }

    /// How far ahead a no-answer may set the next call.
    public static let longestRetryDays = 30

    /// Records one attempt at a task (outcome, note, next action, the survey taken) and closes the
    /// task unless the patient was not reached and a day to call again (`retryOn`, today to
    /// ``longestRetryDays`` ahead) is set: a no-answer without it closes the task as not reached, which coverage does not count
    /// as followed up. Claims the task if unclaimed.
    public func record(
        _ caller: Caller, taskId: String, outcome: FollowUpOutcome, note: String?, nextAction: String?,
        responseId: String? = nil, retryOn: String? = nil
    ) async throws -> String {
        try caller.require(.visitor, .agent, .manager)
        if let note, note.count > 2000 { throw CRMError.invalid("note must be at most 2000 characters") }
        if let nextAction, nextAction.count > 500 { throw CRMError.invalid("nextAction must be at most 500 characters") }
        if let retryOn {
            guard time.isDay(retryOn) else { throw CRMError.invalid("retryOn must be yyyy-MM-dd") }
            // Only a no-answer uses it; within a month, so an unreached patient cannot be pushed
            // out of the queue (and out of coverage) for years.
            if outcome == .noAnswer {
                let latest = time.day(today(), plus: Self.longestRetryDays) ?? today()
                guard retryOn >= today(), retryOn <= latest else {
                    throw CRMError.unprocessable("retryOn must be between today and \(Self.longestRetryDays) days from now")
                }
            }
        }
        return try await change(caller, "task.record", "followUpRecord") { tx in
            let id = try record(
                tx, caller, taskId: taskId, outcome: outcome, note: note, nextAction: nextAction,
                responseId: responseId, retryOn: retryOn)
            return (id, id)
        }
    }

    /// ``record(_:taskId:outcome:note:nextAction:responseId:retryOn:)`` inside a transaction.
    func record(
        _ tx: ReplicaTransaction, _ caller: Caller, taskId: String, outcome: FollowUpOutcome, note: String?,
        nextAction: String?, responseId: String?, retryOn: String?, at: String? = nil
    ) throws -> String {
        guard let row = try Row.fetchOne(tx.db, sql: "SELECT * FROM followUpTask WHERE id = ?", arguments: [taskId]),
            caller.role != .visitor || caller.isOwnWard(row["wardId"] as String?)
        else {
            throw CRMError.notFound("task", taskId)
        }
        let task = FollowUpTask(row: row)
        guard !task.withdrawn else { throw CRMError.conflict("task '\(taskId)' was withdrawn") }
        guard task.doneAt == nil else { throw CRMError.conflict("task '\(taskId)' is already done") }
        if let holder = task.claimedBy, holder != caller.userId { throw CRMError.conflict("task '\(taskId)' is claimed by '\(holder)'") }
        if let responseId, try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM surveyResponse WHERE id = ?", arguments: [responseId]) != true {
            throw CRMError.notFound("survey response", responseId)
        }
        let at = at ?? timestamp()
        let recordID = try tx.insert(
            FollowUpAttemptRecord(
                taskId: taskId, patientId: task.patientId, outcome: outcome.rawValue, note: note, nextAction: nextAction, responseId: responseId,
                userId: caller.userId, nodeId: nodeID, at: at))
        var values: [FollowUpTaskRecord.Columns: (any DatabaseValueConvertible)?] = [
            .attempts: task.attempts + 1, .outcome: outcome.rawValue, .nextAction: nextAction,
        ]
        if task.claimedBy == nil { values[.claimedBy] = caller.userId }
        if outcome == .noAnswer, let retryOn { values[.dueDate] = retryOn } else { values[.doneAt] = at }
        try tx.update(FollowUpTaskRecord.self, id: taskId, values)
        return recordID
    }
}

/// A queue line: the task, the patient (after merges), and whether it is late.
public struct QueueEntry: Codable, Sendable {
    public var task: FollowUpTask
    public var patient: Patient?
    public var overdue: Bool
}

/// A claim of the caller's that lost.
public struct LostClaim: Codable, Sendable, Hashable {
    public var taskId: String
    public var claimedAt: String
    public var winner: String
}

/// What a rule would match.
public struct RulePreview: Codable, Sendable {
    public var encounters: Int
    public var patients: Int
    public var tasks: Int
    public var sample: [String]
}
