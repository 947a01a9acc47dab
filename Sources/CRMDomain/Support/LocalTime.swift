import Foundation
import HL7

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
        let offset = timeZone.secondsFromGMT(for: date)
        let local = Int((date.timeIntervalSince1970).rounded(.down)) + offset
        let days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        let second = local - days * 86_400
        let (year, month, day) = CivilDays.date(fromDays: days)
        let sign = offset < 0 ? "-" : "+"
        return "\(Self.pad(year, 4))-\(Self.pad(month))-\(Self.pad(day))T\(Self.pad(second / 3600)):\(Self.pad(second % 3600 / 60)):\(Self.pad(second % 60))"
            + "\(sign)\(Self.pad(abs(offset) / 3600)):\(Self.pad(abs(offset) % 3600 / 60))"
    }

    private static func pad(_ value: Int, _ width: Int = 2) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// `2026-11-23`.
    public func day(_ date: Date) -> String {
        String(timestamp(date).prefix(10))
    }

    /// Parses an ISO-8601 timestamp (with `Z` or an offset, optional fractional seconds).
    public func parseTimestamp(_ text: String) -> Date? {
        if let date = Self.parseInternetDateTime(text) { return date }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// `yyyy-MM-ddTHH:mm:ss[.fff](Z|±HH:MM)` read by hand (Foundation's formatter is slow on hot
    /// paths); nil for anything else, which the formatter then judges.
    static func parseInternetDateTime(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.count <= 40 else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            var value = 0
            for index in from..<(from + count) {
                let byte = bytes[index]
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard bytes[4] == 0x2D, bytes[7] == 0x2D, bytes[10] == 0x54, bytes[13] == 0x3A, bytes[16] == 0x3A,
            let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
            let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
            (1...12).contains(month), (1...CivilDays.daysIn(month: month, year: year)).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        var index = 19
        var fraction = 0.0
        if bytes[index] == 0x2E {
            index += 1
            var scale = 0.1
            let start = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                fraction += Double(bytes[index] - 0x30) * scale
                scale /= 10
                index += 1
            }
            guard index > start, index < bytes.count else { return nil }
        }
        let offset: Int
        if bytes[index] == 0x5A, index + 1 == bytes.count {
            offset = 0
        } else {
            guard index + 6 == bytes.count, bytes[index] == 0x2B || bytes[index] == 0x2D, bytes[index + 3] == 0x3A,
                let hours = number(index + 1, 2), let minutes = number(index + 4, 2), hours < 24, minutes < 60
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (bytes[index] == 0x2D ? -1 : 1)
        }
        let seconds = CivilDays.days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// Re-expresses a client's ISO-8601 timestamp in local time; nil when it is not one.
    public func normalizedTimestamp(_ text: String) -> String? {
        parseTimestamp(text).map(timestamp)
    }

    /// Parses `yyyy-MM-dd` into the components of that local day; nil when malformed.
    public func parseDay(_ text: String) -> DateComponents? {
        // By hand (no Calendar): this runs for every date a request or an HL7 message carries.
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == 0x2D, bytes[7] == 0x2D else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard bytes[index] >= 0x30, bytes[index] <= 0x39 else { return nil }
                value = value * 10 + Int(bytes[index] - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), year >= 1,
            (1...12).contains(month), (1...CivilDays.daysIn(month: month, year: year)).contains(day)
        else { return nil }
        return DateComponents(year: year, month: month, day: day)
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

    /// The local day `months` calendar months after `day`; a day the month lacks becomes its
    /// last (31 January + 1 month is 28 or 29 February).
    public func day(_ day: String, plusMonths months: Int) -> String? {
        guard let components = parseDay(day), let date = calendar.date(from: components),
            let moved = calendar.date(byAdding: .month, value: months, to: date)
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
