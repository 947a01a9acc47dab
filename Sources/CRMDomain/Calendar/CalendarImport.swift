import Foundation
import GRDB
import Replica

/// A year's official holiday schedule (国务院办公厅关于…年部分节假日安排的通知), imported by an
/// admin: one day per line, `yyyy-MM-dd holiday|workday name` (the shipped list's format; a comma
/// or a tab may separate the fields, and `#` starts a comment). Checked whole before anything is
/// written: one bad line and nothing is applied.
public struct CalendarSchedule: Sendable {
    /// The days read, in date order.
    public var days: [CalendarDay]
    /// (line number, what is wrong) for each line that could not be read.
    public var errors: [(line: Int, message: String)]

    /// The most lines a schedule may have (a year has 366 days).
    public static let maximumLines = 1_000

    /// Reads a schedule.
    public init(parsing text: String, time: LocalTime) {
        days = []
        errors = []
        var seen: Set<String> = []
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            if index >= Self.maximumLines {
                errors.append((index + 1, "more than \(Self.maximumLines) lines"))
                break
            }
            let line =
                raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?
                .trimmingCharacters(in: .whitespaces) ?? ""
            if line.isEmpty { continue }
            let fields = line.split(maxSplits: 2, whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" || $0 == "，" }).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard fields.count >= 2 else {
                errors.append((index + 1, "expected: date, holiday or workday, name"))
                continue
            }
            guard time.isDay(fields[0]) else {
                errors.append((index + 1, "the date must be yyyy-MM-dd"))
                continue
            }
            guard let working = ["holiday": false, "workday": true, "休": false, "班": true][fields[1]] else {
                errors.append((index + 1, "the kind must be holiday or workday"))
                continue
            }
            let name = fields.count > 2 ? fields[2] : ""
            guard name.count <= 40 else {
                errors.append((index + 1, "the name is longer than 40 characters"))
                continue
            }
            guard seen.insert(fields[0]).inserted else {
                errors.append((index + 1, "\(fields[0]) is listed twice"))
                continue
            }
            days.append(CalendarDay(day: fields[0], working: working, name: name))
        }
        days.sort { $0.day < $1.day }
    }
}

extension CRM.Organisation {
    /// Imports a schedule's days as the hospital's calendar days (admin), in one change; refused
    /// whole when a line is bad or there is nothing to import. Returns how many days it wrote.
    @discardableResult
    public func importCalendar(_ caller: Caller, _ schedule: CalendarSchedule) async throws -> Int {
        if caller != .system { try caller.require(.admin) }
        if let first = schedule.errors.first { throw CRMError.unprocessable("line \(first.line): \(first.message); nothing was imported") }
        guard !schedule.days.isEmpty else { throw CRMError.unprocessable("the schedule lists no day") }
        let days = schedule.days
        return try await change(caller, "calendar.import", "calendarDay") { tx in
            for day in days { try tx.upsert(CalendarDayRecord(id: day.day, kind: day.working ? "workday" : "holiday", name: day.name)) }
            return (days.count, days.first?.day ?? "")
        }
    }

    /// The first year, this one or the next, that has no public holiday in the calendar (shipped or
    /// imported), once the State Council usually publishes it (from November): the dashboard's warning.
    public func yearWithoutSchedule() async throws -> Int? {
        let calendar = try await workingCalendar()
        let today = today()
        guard let year = Int(today.prefix(4)) else { return nil }
        let years = today.dropFirst(5).prefix(2) >= "11" ? [year, year + 1] : [year]
        return years.first { year in !calendar.holidayNames.keys.contains { $0.hasPrefix("\(year)-") } }
    }
}
