import Foundation

/// A range of local days, both ends included.
public struct DayRange: Codable, Sendable, Hashable {
    public var from: String
    public var to: String

    public init(from: String, to: String) {
        self.from = from
        self.to = to
    }

    func validate(_ time: LocalTime) throws(CRMError) {
        guard time.isDay(from), time.isDay(to) else { throw .invalid("from and to must be yyyy-MM-dd") }
        guard from <= to else { throw .unprocessable("from must not be after to") }
    }

    /// The bound that sorts after every timestamp of `to`.
    var toExclusive: String { to + "T99" }
}

/// Satisfaction counts for one survey mode (满意 / 不满意 / 无意见 / 未联系上).
public struct SatisfactionRow: Codable, Sendable, Hashable {
    public var mode: String
    /// Overall score 4 or 5.
    public var satisfied: Int
    /// Overall score 1 or 2.
    public var dissatisfied: Int
    /// Overall score 3, or the overall question not answered.
    public var noOpinion: Int
    /// Follow-up tasks in the range whose last outcome was no answer or a wrong number.
    public var notReached: Int
    public var total: Int { satisfied + dissatisfied + noOpinion + notReached }
    /// Satisfied ÷ total, 0 when there is nothing.
    public var satisfiedRate: Double { total == 0 ? 0 : Double(satisfied) / Double(total) }
    public var dissatisfiedRate: Double { total == 0 ? 0 : Double(dissatisfied) / Double(total) }
    public var noOpinionRate: Double { total == 0 ? 0 : Double(noOpinion) / Double(total) }
    public var notReachedRate: Double { total == 0 ? 0 : Double(notReached) / Double(total) }

    enum CodingKeys: String, CodingKey {
        case mode, satisfied, dissatisfied, noOpinion, notReached, total, satisfiedRate, dissatisfiedRate, noOpinionRate, notReachedRate
    }

    public init(mode: String, satisfied: Int, dissatisfied: Int, noOpinion: Int, notReached: Int) {
        self.mode = mode
        self.satisfied = satisfied
        self.dissatisfied = dissatisfied
        self.noOpinion = noOpinion
        self.notReached = notReached
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            mode: try container.decode(String.self, forKey: .mode), satisfied: try container.decode(Int.self, forKey: .satisfied),
            dissatisfied: try container.decode(Int.self, forKey: .dissatisfied), noOpinion: try container.decode(Int.self, forKey: .noOpinion),
            notReached: try container.decode(Int.self, forKey: .notReached))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(mode, forKey: .mode)
        try container.encode(satisfied, forKey: .satisfied)
        try container.encode(dissatisfied, forKey: .dissatisfied)
        try container.encode(noOpinion, forKey: .noOpinion)
        try container.encode(notReached, forKey: .notReached)
        try container.encode(total, forKey: .total)
        try container.encode(satisfiedRate, forKey: .satisfiedRate)
        try container.encode(dissatisfiedRate, forKey: .dissatisfiedRate)
        try container.encode(noOpinionRate, forKey: .noOpinionRate)
        try container.encode(notReachedRate, forKey: .notReachedRate)
    }
}

/// How NPS rows are grouped in time.
public enum StatisticsPeriod: String, Codable, CaseIterable, Sendable {
    case year, quarter, month, range
}

/// Net promoter score of one ward, period and mode: % promoters (9–10) − % detractors (0–6).
public struct NPSRow: Codable, Sendable, Hashable {
    public var wardId: String
    public var period: String
    public var mode: String
    public var promoters: Int
    public var passives: Int
    public var detractors: Int
    public var responses: Int
    /// −100 … 100.
    public var nps: Double
}

/// Opinions about one department.
public struct DepartmentOpinions: Codable, Sendable, Hashable {
    public var departmentId: String
    public var name: String
    public var important: Int
    public var praise: Int
    public var suggestion: Int
    public var total: Int
    /// This department's share of all opinions in the range (pie chart).
    public var share: Double
}

/// A flagged opinion as listed.
public struct OpinionEntry: Codable, Sendable, Hashable {
    public var id: String
    public var responseId: String
    public var kind: String
    public var text: String
    public var departmentId: String?
    public var staffId: String?
    public var wardId: String?
    public var mode: String?
    public var at: String
    public var patientId: String?
    /// Set once a manager reported it up (上报).
    public var escalatedAt: String?
    public var escalatedBy: String?
    public var escalationNote: String?
}

/// Follow-up coverage of one task kind: due vs done, and done on time.
public struct CoverageRow: Codable, Sendable, Hashable {
    public var kind: String
    public var due: Int
    /// Closed with the patient reached (or declining); not reached does not count.
    public var done: Int
    /// Done by `dueBy` (24 h / 72 h tasks) or on the due day (others).
    public var onTime: Int
    public var doneRate: Double
    public var onTimeRate: Double
}

/// Open complaints by age in working days.
public struct ComplaintAgeing: Codable, Sendable, Hashable {
    public var byStatus: [String: Int]
    /// "0-2", "3-5", "6-10", "11+" working days since registration.
    public var byAge: [String: Int]
    public var overdue: Int
    public var open: Int
}
