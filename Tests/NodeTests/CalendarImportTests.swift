import CRMDomain
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import NodeHTTP
@testable import NodeRuntime

/// A year's holiday schedule imported by an admin, previewed first, refused whole when a line is
/// wrong; the dashboard warns while the coming year has none.
@Suite("Working calendar: importing a year's schedule")
struct CalendarImportTests {
    static let schedule2027 = """
        # 国务院办公厅关于2027年部分节假日安排的通知（示例）
        2027-01-01 holiday 元旦
        2027-02-06,holiday,春节
        2027-02-07\tholiday\t春节
        2027-02-20 workday 春节调休
        """

    @Test func aScheduleIsReadLineByLineAndEveryBadLineIsNamed() {
        let good = CalendarSchedule(parsing: Self.schedule2027, time: LocalTime())
        #expect(good.errors.isEmpty && good.days.count == 4)
        #expect(good.days.last == CalendarDay(day: "2027-02-20", working: true, name: "春节调休"))
        let bad = CalendarSchedule(parsing: "2027-13-01 holiday 元旦\n2027-01-02 vacation 元旦\n2027-01-03\n2027-01-04 holiday 元旦\n2027-01-04 holiday 元旦", time: LocalTime())
        #expect(bad.errors.map(\.line) == [1, 2, 3, 5])
        let huge = CalendarSchedule(parsing: String(repeating: "2027-01-01 holiday x\n", count: 1_200), time: LocalTime())
        #expect(!huge.errors.isEmpty, "bounded")
    }

    @Test func anAdminPreviewsThenImportsAndTheDashboardStopsWarning() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            let admin = try await WebArchiveAndChartTests.logIn(client, "admin")
            let manager = try await WebArchiveAndChartTests.logIn(client, "manager")
            let encoded = Self.schedule2027.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let next = (Int(crm.today().prefix(4)) ?? 2026) + 1
            let warnsNow = try await crm.organisation.yearWithoutSchedule()
            let dashboard = try await SMSPageTests.page(client, "/dashboard", manager).1
            #expect(dashboard.contains("id=\"calendar-warning\"") == (warnsNow != nil))

            let preview = try await SMSPageTests.post(client, "/organisation/calendar/import", "action=preview&schedule=\(encoded)", admin)
            #expect(preview.0 == .ok && preview.2.contains("id=\"schedule-preview\"") && preview.2.contains("2027-02-20") && preview.2.contains("id=\"apply-schedule\""))
            await #expect(try crm.organisation.calendarOverrides().isEmpty, "a preview writes nothing")
            let wrong = try await SMSPageTests.post(client, "/organisation/calendar/import", "action=apply&schedule=\(encoded)%0A2027-02-30%20holiday%20x", admin)
            #expect(wrong.0 == .ok && wrong.2.contains("id=\"schedule-errors\"") && !wrong.2.contains("id=\"apply-schedule\""))
            await #expect(try crm.organisation.calendarOverrides().isEmpty, "one bad line and nothing is imported")
            #expect(try await SMSPageTests.post(client, "/organisation/calendar/import", "action=apply&schedule=\(encoded)", manager).0 == .forbidden)
            let applied = try await SMSPageTests.post(client, "/organisation/calendar/import", "action=apply&schedule=\(encoded)", admin)
            #expect(applied.0 == .seeOther)
            await #expect(try crm.organisation.calendarOverrides().count == 4)
            await #expect(try crm.organisation.workingCalendar().holidayStarting(on: "2027-02-06") == "春节")
            if next == 2027 {
                await #expect(try crm.organisation.yearWithoutSchedule() == nil)
                #expect(!(try await SMSPageTests.page(client, "/dashboard", manager).1.contains("id=\"calendar-warning\"")))
            }
        }
    }
}
