import Foundation

/// The hospital's local time. Timestamps are stored as ISO-8601 with the hospital's
/// offset (`2026-11-23T09:30:00+08:00`) and dates as `yyyy-MM-dd`, so that text order is
/// time order and `substr(…, 1, 7)` is the local month.
public struct LocalTime: Sendable {
    public let timeZone: TimeZone
    private let calendar: Calendar

    public init(timeZone: TimeZone = TimeZone(identifier: "Asia/Shanghai")!) {
        self.timeZone = timeZone
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.calendar = calendar
    }

    /// `2026-11-23T09:30:00+08:00`.
    public func timestamp(_ date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let offset = timeZone.secondsFromGMT(for: date)
        let sign = offset < 0 ? "-" : "+"
        let hours = abs(offset) / 3600, minutes = abs(offset) % 3600 / 60
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d%@%02d:%02d", parts.year!, parts.month!, parts.day!,
            parts.hour!, parts.minute!, parts.second!, sign, hours, minutes)
    }

    /// `2026-11-23`.
    public func day(_ date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }

    /// Parses an ISO-8601 timestamp (with `Z` or an offset, optional fractional seconds).
    public func parseTimestamp(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// Re-expresses a client's ISO-8601 timestamp in local time; nil when it is not one.
    public func normalizedTimestamp(_ text: String) -> String? {
        parseTimestamp(text).map(timestamp)
    }

    /// Parses `yyyy-MM-dd` into the components of that local day; nil when malformed.
    public func parseDay(_ text: String) -> DateComponents? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        let components = DateComponents(year: year, month: month, day: day)
        guard let date = calendar.date(from: components), self.day(date) == text else { return nil }
        return components
    }

    /// Whether `text` is a valid `yyyy-MM-dd`.
    public func isDay(_ text: String) -> Bool { parseDay(text) != nil }

    /// The local day `days` after `day` (`yyyy-MM-dd`).
    public func day(_ day: String, plus days: Int) -> String? {
        guard let components = parseDay(day), let date = calendar.date(from: components),
            let moved = calendar.date(byAdding: .day, value: days, to: date)
        else { return nil }
        return self.day(moved)
    }

    /// The weekday of a day: 1 = Sunday … 7 = Saturday.
    public func weekday(_ day: String) -> Int? {
        guard let components = parseDay(day), let date = calendar.date(from: components) else { return nil }
        return calendar.component(.weekday, from: date)
    }

    /// Whole days from `start` to `end` (`yyyy-MM-dd`), negative when `end` is earlier.
    public func days(from start: String, to end: String) -> Int? {
        guard let a = parseDay(start).flatMap(calendar.date(from:)), let b = parseDay(end).flatMap(calendar.date(from:)) else { return nil }
        return calendar.dateComponents([.day], from: a, to: b).day
    }

    /// The local day of a stored timestamp (its first ten characters when already local).
    public func dayOfTimestamp(_ text: String) -> String? {
        parseTimestamp(text).map(day)
    }
}
