/// HL7 date-times (DTM: `YYYY[MM[DD[HH[MM[SS[.S…]]]]]][±ZZZZ]`) as ISO-8601.
public enum HL7Time {
    /// `value` as `yyyy-MM-ddTHH:mm:ss±HH:MM`; a value without an offset is in the hospital's
    /// zone (`localOffsetSeconds`); a value with only a date is midnight. Nil when malformed.
    public static func iso8601(_ value: String, localOffsetSeconds: Int) -> String? {
        var digits = Substring(value)
        var offset = localOffsetSeconds
        if let sign = digits.lastIndex(where: { $0 == "+" || $0 == "-" }) {
            let zone = digits[digits.index(after: sign)...]
            guard zone.count == 4, zone.allSatisfy(\.isASCIIDigit), let hours = Int(zone.prefix(2)), let minutes = Int(zone.suffix(2)), hours <= 14, minutes < 60 else {
                return nil
            }
            offset = (hours * 3600 + minutes * 60) * (digits[sign] == "-" ? -1 : 1)
            digits = digits[..<sign]
        }
        if let dot = digits.firstIndex(of: ".") {
            guard digits[digits.index(after: dot)...].allSatisfy(\.isASCIIDigit) else { return nil }
            digits = digits[..<dot]
        }
        guard [8, 10, 12, 14].contains(digits.count), digits.allSatisfy(\.isASCIIDigit) else { return nil }
        let parts = stride(from: 0, to: 14, by: 2).map { start -> Int in
            let from = digits.index(digits.startIndex, offsetBy: min(start, digits.count))
            let to = digits.index(digits.startIndex, offsetBy: min(start + 2, digits.count))
            return from == to ? 0 : Int(digits[from..<to]) ?? 0
        }
        let year = parts[0] * 100 + parts[1]
        let (month, day, hour, minute, second) = (parts[2], parts[3], parts[4], parts[5], parts[6])
        guard (1900...2200).contains(year), (1...12).contains(month), (1...CivilDays.daysIn(month: month, year: year)).contains(day), hour < 24, minute < 60, second < 60 else {
            return nil
        }
        let sign = offset < 0 ? "-" : "+"
        return "\(pad(year, 4))-\(pad(month))-\(pad(day))T\(pad(hour)):\(pad(minute)):\(pad(second))\(sign)\(pad(abs(offset) / 3600)):\(pad(abs(offset) % 3600 / 60))"
    }

    /// `value`'s date part as `yyyy-MM-dd` (a birth date); nil when malformed.
    public static func day(_ value: String) -> String? {
        iso8601(value, localOffsetSeconds: 0).map { String($0.prefix(10)) }
    }

    /// Now (or any time) as HL7 writes it in MSH-7: `YYYYMMDDHHMMSS±ZZZZ`.
    public static func stamp(secondsSince1970: Int64, offsetSeconds: Int) -> String {
        let local = secondsSince1970 + Int64(offsetSeconds)
        let days = Int(local.floorDivided(by: 86_400))
        let secondOfDay = Int(local - Int64(days) * 86_400)
        let (year, month, day) = CivilDays.date(fromDays: days)
        let sign = offsetSeconds < 0 ? "-" : "+"
        return "\(pad(year, 4))\(pad(month))\(pad(day))\(pad(secondOfDay / 3600))\(pad(secondOfDay % 3600 / 60))\(pad(secondOfDay % 60))"
            + "\(sign)\(pad(abs(offsetSeconds) / 3600))\(pad(abs(offsetSeconds) % 3600 / 60))"
    }

    private static func pad(_ value: Int, _ width: Int = 2) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
