import Foundation
import GRDB
import Replica

/// Working days: Monday to Friday, minus public holidays, plus make-up working days, with the
/// hospital's own overrides on top. Complaint deadlines are counted on it.
public struct WorkingCalendar: Sendable {
    let time: LocalTime
    /// date → whether it is a working day, for days that differ from the weekday rule.
    let exceptions: [String: Bool]
    /// date → the holiday's name (春节, 国庆节…), for the holidays of `exceptions`.
    let holidayNames: [String: String]

    /// - Parameters:
    ///   - overrides: date → working day or not (from the `calendarDay` table); they win over the shipped data.
    ///   - names: date → the name of an overriding holiday (its greeting is sent under that name).
    public init(time: LocalTime, overrides: [String: Bool] = [:], names: [String: String] = [:]) {
        self.time = time
        var exceptions = ChinaPublicHolidays.days.mapValues(\.working)
        exceptions.merge(overrides) { _, local in local }
        self.exceptions = exceptions
        var holidayNames = ChinaPublicHolidays.days.compactMapValues { $0.working ? nil : $0.name }
        holidayNames.merge(names) { _, local in local }
        self.holidayNames = holidayNames.filter { exceptions[$0.key] == false && !$0.value.isEmpty }
    }

    /// The name of the public holiday `day` opens (its first day off), or nil: a holiday greeting
    /// goes out once per holiday, on its first day.
    public func holidayStarting(on day: String) -> String? {
        guard let name = holidayNames[day] else { return nil }
        guard let previous = time.day(day, plus: -1) else { return name }
        return holidayNames[previous] == name ? nil : name
    }

    /// Whether a `yyyy-MM-dd` day is a working day.
    public func isWorkingDay(_ day: String) -> Bool {
        if let exception = exceptions[day] { return exception }
        guard let weekday = time.weekday(day) else { return false }
        return weekday != 1 && weekday != 7
    }

    /// The working day `count` working days after `day` (the day itself does not count).
    public func adding(workingDays count: Int, to day: String) -> String? {
        var current = day
        var left = count
        var guardrail = 0
        while left > 0 {
            guard let next = time.day(current, plus: 1) else { return nil }
            current = next
            if isWorkingDay(current) { left -= 1 }
            guardrail += 1
            if guardrail > 3660 { return nil }
        }
        return current
    }

    /// Working days after `start` up to and including `end`; 0 when `end` is not after `start`.
    public func workingDays(from start: String, to end: String) -> Int {
        guard let span = time.days(from: start, to: end), span > 0, span < 36600 else { return 0 }
        var count = 0
        var current = start
        for _ in 0..<span {
            guard let next = time.day(current, plus: 1) else { break }
            current = next
            if isWorkingDay(current) { count += 1 }
        }
        return count
    }
}

extension CRM.Organisation {
    /// The calendar with this hospital's overrides.
    public func workingCalendar() async throws -> WorkingCalendar {
        let (overrides, names) = try await read { db in
            var overrides: [String: Bool] = [:]
            var names: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, kind, name FROM calendarDay") {
                overrides[row["id"]] = (row["kind"] as String?) == "workday"
                names[row["id"]] = row["name"]
            }
            return (overrides, names)
        }
        return WorkingCalendar(time: time, overrides: overrides, names: names)
    }

    /// This hospital's own calendar days (holidays and make-up working days beyond the shipped list), by day.
    public func calendarOverrides() async throws -> [CalendarDay] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT id, kind, name FROM calendarDay ORDER BY id").map {
                CalendarDay(day: $0["id"], working: ($0["kind"] as String?) == "workday", name: $0["name"] ?? "")
            }
        }
    }

    /// Marks a day as a holiday or a make-up working day (admin).
    public func setCalendarDay(_ caller: Caller, day: String, working: Bool, name: String) async throws {
        if caller != .system { try caller.require(.admin) }
        guard time.isDay(day) else { throw CRMError.invalid("day must be yyyy-MM-dd") }
        guard name.count <= 40 else { throw CRMError.invalid("name must be at most 40 characters") }
        try await change(caller, "calendar.save", "calendarDay") { tx in
            try tx.upsert(CalendarDayRecord(id: day, kind: working ? "workday" : "holiday", name: name))
            return ((), day)
        }
    }
}

/// A day the hospital marked itself: a holiday, or a make-up working day.
public struct CalendarDay: Codable, Sendable, Hashable {
    public var day: String
    public var working: Bool
    public var name: String

    public init(day: String, working: Bool, name: String) {
        self.day = day
        self.working = working
        self.name = name
    }
}
