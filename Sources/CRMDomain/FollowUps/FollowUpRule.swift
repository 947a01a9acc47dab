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
    /// fixed-offset (`offsets` days after the trigger) or periodic (every `intervalDays`, `repeatCount` times).
    public enum Kind: String, Codable, Sendable { case fixedOffset = "fixed-offset", periodic }

    public var id: String?
    public var name: String
    public var kind: Kind
    public var triggerEvent: TriggerEvent
    public var offsets: [Int]?
    public var intervalDays: Int?
    public var repeatCount: Int?
    public var filter: RuleFilter
    public var templateId: String?
    public var active: Bool

    public init(
        id: String? = nil, name: String, kind: Kind, triggerEvent: TriggerEvent, offsets: [Int]? = nil, intervalDays: Int? = nil,
        repeatCount: Int? = nil, filter: RuleFilter = RuleFilter(), templateId: String? = nil, active: Bool = true
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.triggerEvent = triggerEvent
        self.offsets = offsets
        self.intervalDays = intervalDays
        self.repeatCount = repeatCount
        self.filter = filter
        self.templateId = templateId
        self.active = active
    }

    /// Days after the trigger at which tasks fall due.
    public var dueOffsets: [Int] {
        switch kind {
        case .fixedOffset: (offsets ?? []).sorted()
        case .periodic: (1...max(1, repeatCount ?? 1)).map { $0 * (intervalDays ?? 1) }
        }
    }

    func validate() throws(CRMError) {
        guard !name.isEmpty, name.count <= 100 else { throw .invalid("name must be 1–100 characters") }
        if let offsets, offsets.count > 50 || !offsets.allSatisfy({ (0...3650).contains($0) }) {
            throw .invalid("offsets: at most 50, each 0–3650 days")
        }
        if let intervalDays, !(1...3650).contains(intervalDays) { throw .invalid("intervalDays must be 1–3650") }
        if let repeatCount, !(1...100).contains(repeatCount) { throw .invalid("repeatCount must be 1–100") }
        switch kind {
        case .fixedOffset:
            guard let offsets, !offsets.isEmpty else { throw .unprocessable("a fixed-offset rule needs 1–50 offsets between 0 and 3650 days") }
        case .periodic:
            guard intervalDays != nil, repeatCount != nil else { throw .unprocessable("a periodic rule needs intervalDays 1–3650 and repeatCount 1–100") }
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
        repeatCount = (row["repeatCount"] as Int?).map { min(max($0, 1), 100) }
        filter = (try? JSONDecoder().decode(RuleFilter.self, from: Data((row["filter"] as String? ?? "{}").utf8))) ?? RuleFilter()
        templateId = row["templateId"]
        active = (row["active"] as Int?) == 1
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
