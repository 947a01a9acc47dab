import Foundation
import GRDB
import Replica

/// What produces follow-up tasks.
public enum TriggerEvent: String, Codable, CaseIterable, Sendable {
    case admission, discharge, visit
}

/// Which encounters a rule applies to. Every given criterion must hold; empty lists match all.
public struct RuleFilter: Codable, Sendable, Hashable {
    public var departments: [String]?
    public var wards: [String]?
    public var doctors: [String]?
    /// ICD-10 prefixes: `I21` matches `I21.0`.
    public var diagnosisPrefixes: [String]?
    /// inpatient | discharged | outpatient
    public var patientStatuses: [String]?
    public var minStayDays: Int?
    public var maxStayDays: Int?
    public var dischargeStatuses: [DischargeStatus]?

    public init(
        departments: [String]? = nil, wards: [String]? = nil, doctors: [String]? = nil, diagnosisPrefixes: [String]? = nil,
        patientStatuses: [String]? = nil, minStayDays: Int? = nil, maxStayDays: Int? = nil, dischargeStatuses: [DischargeStatus]? = nil
    ) {
        self.departments = departments
        self.wards = wards
        self.doctors = doctors
        self.diagnosisPrefixes = diagnosisPrefixes
        self.patientStatuses = patientStatuses
        self.minStayDays = minStayDays
        self.maxStayDays = maxStayDays
        self.dischargeStatuses = dischargeStatuses
    }

    /// Whether an encounter passes the filter.
    func matches(_ encounter: Encounter, time: LocalTime) -> Bool {
        func passes(_ list: [String]?, _ value: String?) -> Bool {
            guard let list, !list.isEmpty else { return true }
            guard let value else { return false }
            return list.contains(value)
        }
        guard passes(departments, encounter.departmentId), passes(wards, encounter.wardId), passes(doctors, encounter.doctorId),
            passes(patientStatuses, encounter.patientStatus),
            passes(dischargeStatuses?.map(\.rawValue), encounter.dischargeStatus)
        else { return false }
        if let prefixes = diagnosisPrefixes, !prefixes.isEmpty {
            guard let code = encounter.diagnosisCode, prefixes.contains(where: { code.uppercased().hasPrefix($0.uppercased()) }) else { return false }
        }
        if minStayDays != nil || maxStayDays != nil {
            guard let discharged = encounter.dischargedAt, let start = time.dayOfTimestamp(encounter.admittedAt),
                let end = time.dayOfTimestamp(discharged), let stay = time.days(from: start, to: end)
            else { return false }
            if let minStayDays, stay < minStayDays { return false }
            if let maxStayDays, stay > maxStayDays { return false }
        }
        return true
    }

    func validate() throws(CRMError) {
        if let minStayDays, !(0...36_500).contains(minStayDays) { throw .invalid("filter.minStayDays must be 0–36500") }
        if let maxStayDays, !(0...36_500).contains(maxStayDays) { throw .invalid("filter.maxStayDays must be 0–36500") }
        if let statuses = patientStatuses, !statuses.allSatisfy(["inpatient", "discharged", "outpatient"].contains) {
            throw .invalid("filter.patientStatuses must be inpatient, discharged or outpatient")
        }
        let lists = [departments, wards, doctors, diagnosisPrefixes].compactMap { $0 }
        guard lists.allSatisfy({ $0.count <= 100 && $0.allSatisfy { !$0.isEmpty && $0.count <= 40 } }) else {
            throw .invalid("filter lists hold at most 100 entries of 1–40 characters")
        }
    }
}

/// A follow-up rule (随访规则).
public struct FollowUpRule: Codable, Sendable, Hashable {
    /// fixed-offset (`offsets` days after the trigger) or periodic (every `intervalDays` days or
    /// `intervalMonths` months, `repeatCount` times).
    public enum Kind: String, Codable, CaseIterable, Sendable { case fixedOffset = "fixed-offset", periodic }

    /// What falls due: a call for the desk (with the survey `templateId`), or an SMS central sends
    /// by itself (`smsTemplateId`), e.g. thanks the day after discharge.
    public enum Action: String, Codable, CaseIterable, Sendable { case call, sms }

    public var id: String?
    public var name: String
    public var kind: Kind
    public var triggerEvent: TriggerEvent
    public var offsets: [Int]?
    public var intervalDays: Int?
    /// A periodic rule's interval in calendar months (instead of `intervalDays`).
    public var intervalMonths: Int?
    public var repeatCount: Int?
    public var filter: RuleFilter
    /// The survey the call takes.
    public var templateId: String?
    public var active: Bool
    /// nil reads as `call`.
    public var action: Action?
    /// The SMS template of an `sms` rule.
    public var smsTemplateId: String?

    public init(
        id: String? = nil, name: String, kind: Kind, triggerEvent: TriggerEvent, offsets: [Int]? = nil, intervalDays: Int? = nil,
        intervalMonths: Int? = nil, repeatCount: Int? = nil, filter: RuleFilter = RuleFilter(), templateId: String? = nil, active: Bool = true,
        action: Action? = nil, smsTemplateId: String? = nil
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.triggerEvent = triggerEvent
        self.offsets = offsets
        self.intervalDays = intervalDays
        self.intervalMonths = intervalMonths
        self.repeatCount = repeatCount
        self.filter = filter
        self.templateId = templateId
        self.active = active
        self.action = action
        self.smsTemplateId = smsTemplateId
    }

    /// Whether the rule sends an SMS rather than making a call.
    public var sendsSMS: Bool { action == .sms }

    /// When tasks fall due after a trigger on `day`: (the day, a step naming it in task ids).
    /// Day offsets are named by their number, month steps `m1`, `m2`…, so the two never meet.
    public func dueDays(after day: String, time: LocalTime) -> [(day: String, step: String)] {
        switch kind {
        case .fixedOffset:
            return (offsets ?? []).sorted().compactMap { offset in time.day(day, plus: offset).map { ($0, String(offset)) } }
        case .periodic:
            let steps = 1...max(1, repeatCount ?? 1)
            if let months = intervalMonths {
                return steps.compactMap { n in time.day(day, plusMonths: n * months).map { ($0, "m\(n * months)") } }
            }
            return steps.compactMap { n in time.day(day, plus: n * (intervalDays ?? 1)).map { ($0, String(n * (intervalDays ?? 1))) } }
        }
    }

    /// How many tasks one trigger produces.
    public var tasksPerTrigger: Int {
        switch kind {
        case .fixedOffset: (offsets ?? []).count
        case .periodic: max(1, repeatCount ?? 1)
        }
    }

    func validate() throws(CRMError) {
        guard !name.isEmpty, name.count <= 100 else { throw .invalid("name must be 1–100 characters") }
        if let offsets, offsets.count > 50 || !offsets.allSatisfy({ (0...3650).contains($0) }) {
            throw .invalid("offsets: at most 50, each 0–3650 days")
        }
        if let intervalDays, !(1...3650).contains(intervalDays) { throw .invalid("intervalDays must be 1–3650") }
        if let intervalMonths, !(1...120).contains(intervalMonths) { throw .invalid("intervalMonths must be 1–120") }
        if let repeatCount, !(1...100).contains(repeatCount) { throw .invalid("repeatCount must be 1–100") }
        switch kind {
        case .fixedOffset:
            guard let offsets, !offsets.isEmpty else { throw .unprocessable("a fixed-offset rule needs 1–50 offsets between 0 and 3650 days") }
        case .periodic:
            guard (intervalDays == nil) != (intervalMonths == nil), repeatCount != nil else {
                throw .unprocessable("a periodic rule needs either intervalDays 1–3650 or intervalMonths 1–120, and repeatCount 1–100")
            }
        }
        if sendsSMS {
            guard let smsTemplateId, ASCIIIdentifier.clientID.admits(smsTemplateId) else { throw .unprocessable("an sms rule needs its smsTemplateId") }
        } else if smsTemplateId != nil {
            throw .unprocessable("smsTemplateId belongs to an sms rule")
        }
        try filter.validate()
    }

    init(row: Row) throws {
        id = row["id"]
        name = row["name"] ?? ""
        kind = Kind(rawValue: row["kind"] ?? "") ?? .fixedOffset
        triggerEvent = TriggerEvent(rawValue: row["triggerEvent"] ?? "") ?? .discharge
        // Bounded as ``validate()`` bounds them: a rule runs inside every admission's transaction.
        offsets = (row["offsets"] as String?).map { $0.split(separator: ",").prefix(50).compactMap { Int($0) }.filter { (0...3650).contains($0) } }
        intervalDays = (row["intervalDays"] as Int?).map { min(max($0, 1), 3650) }
        intervalMonths = (row["intervalMonths"] as Int?).map { min(max($0, 1), 120) }
        repeatCount = (row["repeatCount"] as Int?).map { min(max($0, 1), 100) }
        filter = (try? JSONDecoder().decode(RuleFilter.self, from: Data((row["filter"] as String? ?? "{}").utf8))) ?? RuleFilter()
        templateId = row["templateId"]
        active = (row["active"] as Int?) == 1
        action = (row["action"] as String?).flatMap(Action.init(rawValue:))
        smsTemplateId = row["smsTemplateId"]
    }
}

/// A follow-up task as the queue shows it.
public struct FollowUpTask: Codable, Sendable, Hashable {
    public var id: String
    public var patientId: String
    public var kind: String
    public var dueDate: String
    public var dueBy: String?
    public var encounterId: String?
    public var ruleId: String?
    public var templateId: String?
    public var wardId: String?
    public var departmentId: String?
    public var note: String?
    public var claimedBy: String?
    public var attempts: Int
    public var outcome: String?
    public var nextAction: String?
    public var doneAt: String?
    public var withdrawn: Bool

    /// Fail-soft like ``Encounter/init(row:)``: missing required values read as empty.
    init(row: Row) {
        id = row["id"]
        patientId = row["patientId"] ?? ""
        kind = row["kind"] ?? ""
        dueDate = row["dueDate"] ?? ""
        dueBy = row["dueBy"]
        encounterId = row["encounterId"]
        ruleId = row["ruleId"]
        templateId = row["templateId"]
        wardId = row["wardId"]
        departmentId = row["departmentId"]
        note = row["note"]
        claimedBy = row["claimedBy"]
        // Replicated under `max`: bounded on the way in, so counting one more never traps.
        attempts = min(max(row["attempts"] ?? 0, 0), 1_000)
        outcome = row["outcome"]
        nextAction = row["nextAction"]
        doneAt = row["doneAt"]
        withdrawn = (row["withdrawn"] as Int?) == 1
    }
}

/// How a follow-up attempt went.
public enum FollowUpOutcome: String, Codable, CaseIterable, Sendable {
    /// 已联系: the patient was reached.
    case reached
    /// 无人接听.
    case noAnswer
    /// 号码错误.
    case wrongNumber
    /// 拒绝回访.
    case refused
}
