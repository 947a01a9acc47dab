import Foundation
import Testing

@testable import CRMDomain

/// The hand-written timestamp reader and writer agree with Foundation's on every input.
@Suite("Local time")
struct LocalTimeTests {
    @Test func theFastReaderAgreesWithFoundationsFormatter() {
        var random = SystemRandomNumberGenerator()
        let formatter = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for _ in 0..<2_000 {
            let seconds = Double(Int64.random(in: -2_000_000_000...4_000_000_000, using: &random))
            let offset = [0, 28_800, -18_000, 19_800, 31_500].randomElement(using: &random)!
            formatter.timeZone = TimeZone(secondsFromGMT: offset)
            fractional.timeZone = TimeZone(secondsFromGMT: offset)
            let date = Date(timeIntervalSince1970: seconds + (Bool.random(using: &random) ? 0.125 : 0))
            for text in [formatter.string(from: date), fractional.string(from: date)] {
                let fast = LocalTime.parseInternetDateTime(text)
                let slow = text.contains(".") ? fractional.date(from: text) : formatter.date(from: text)
                #expect(fast != nil && abs(fast!.timeIntervalSince1970 - slow!.timeIntervalSince1970) < 0.001, "\(text)")
            }
        }
        for text in [
            "2026-02-30T10:00:00+08:00", "2026-13-01T10:00:00Z", "2026-12-01T24:00:00Z", "2026-12-01 10:00:00Z", "2026-12-01T10:00:00", "2026-12-01T10:00:00+8:00",
            "2026-12-01T10:00:00.Z", "２０２６-12-01T10:00:00Z",
        ] {
            #expect(LocalTime.parseInternetDateTime(text) == nil, "\(text)")
        }
    }

    @Test func timestampsAreWrittenAsTheCalendarWouldInAnyZone() {
        for zone in ["Asia/Shanghai", "America/New_York", "Asia/Kolkata", "UTC"] {
            let time = LocalTime(timeZone: TimeZone(identifier: zone)!)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = time.timeZone
            for seconds in stride(from: -1_000_000_000.0, to: 4_000_000_000.0, by: 9_876_543.21) {
                let date = Date(timeIntervalSince1970: seconds)
                let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
                let offset = time.timeZone.secondsFromGMT(for: date)
                let expected = String(
                    format: "%04d-%02d-%02dT%02d:%02d:%02d%@%02d:%02d", parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!, parts.second!,
                    offset < 0 ? "-" : "+", abs(offset) / 3600, abs(offset) % 3600 / 60)
                #expect(time.timestamp(date) == expected, "\(zone) \(seconds)")
                #expect(time.normalizedTimestamp(expected) == expected)
            }
        }
    }
}
