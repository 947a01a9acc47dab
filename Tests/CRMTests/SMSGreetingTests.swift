import CRMDomain
import Foundation
import GRDB
import Replica
import Synchronization
import TestSupport
import Testing

/// What the SMS node queues by itself (appointment reminders, holiday greetings) and what staff do
/// with the outbox (cancel a scheduled send or a campaign, filter, page).
@Suite("SMS: reminders, holiday greetings, cancelling, the outbox's filters")
struct SMSGreetingTests {
    /// The fixture's clock stands at 2026-11-23 09:00 (+08:00), a Monday.
    static let tomorrow = "2026-11-24"

    @Test func anAppointmentIsRemindedTheDayBeforeOnceAndACancelledOneIsNot() async throws {
        let (central, patients) = try await SMSTests.fixture()
        try await central.crm.sms.saveTemplate(
            .system, SMSTemplate(id: "appointmentReminder", name: "预约提醒", kind: "appointment", body: "{name}您好，请于{date} {time}到{department}就诊。"))
        try await central.crm.organisation.setSetting(.system, key: "appointmentReminderTime", value: "18:00")
        func book(_ patient: String, _ at: String) async throws -> String {
            try await central.crm.service.bookAppointment(Staff.agent, patientId: patient, kind: "visit", departmentId: "D-CARD", doctorId: nil, scheduledAt: at)
        }
        let kept = try await book(patients[0], "\(Self.tomorrow)T09:30:00+08:00")
        let cancelledHere = try await book(patients[1], "\(Self.tomorrow)T14:00:00+08:00")
        let cancelledOnAWard = try await book(patients[3], "\(Self.tomorrow)T15:00:00+08:00")
        _ = try await book(patients[2], "2026-11-25T09:00:00+08:00")  // the day after tomorrow: not yet
        try await central.crm.sms.receive(phone: "13800000003", body: "TD")
        _ = try await book(patients[2], "\(Self.tomorrow)T10:00:00+08:00")  // opted out: never reminded

        var report = try await central.crm.sms.queueAppointmentReminders()
        #expect(report.queued == 3)
        report = try await central.crm.sms.queueAppointmentReminders()
        #expect(report == .init(), "a second run queues nothing more")
        let reminders = try await central.crm.sms.outbox(Staff.manager, SMSOutboxFilter(status: .queued), page: PageRequest()).items
        let first = try #require(reminders.first { $0.patientId == patients[0] })
        #expect(first.body == "患者0您好，请于2026-11-24 09:30到心内科就诊。")
        #expect(first.scheduledAt == "2026-11-23T18:00:00+08:00", "at the reminder time of the day before")

        // Cancelled at central: its reminder is cancelled in the same change.
        try await central.crm.service.setAppointmentStatus(Staff.manager, id: cancelledHere, status: .cancelled)
        // Cancelled on a ward gateway, which cannot write the outbox: the next run cancels it.
        let ward = try TestNode(5, wardNodes: [5: ["W-CARD"]])
        try central.send(to: ward)
        try await ward.crm.service.setAppointmentStatus(Staff.manager, id: cancelledOnAWard, status: .cancelled)
        try ward.send(to: central)
        report = try await central.crm.sms.queueAppointmentReminders()
        #expect(report == .init(queued: 0, cancelled: 1))

        let gateway = RecordingGateway()
        _ = try await central.crm.sms.dispatch(gateway: gateway)
        #expect(gateway.sent.withLock { $0 }.isEmpty, "nothing before 18:00")
        central.clock.advance(hours: 9.5)
        _ = try await central.crm.sms.dispatch(gateway: gateway)
        #expect(gateway.sent.withLock { $0.map(\.phone) } == ["13800000001"], "only the appointment still booked: \(gateway.sent.withLock { $0 })")
        _ = kept
    }

    @Test func aHolidayIsGreetedOnItsFirstDayOnceWithItsOwnTemplateIfThereIsOne() async throws {
        let (central, _) = try await SMSTests.fixture()
        await #expect(try central.crm.sms.queueHolidayGreetings(.system, day: "2026-11-23") == nil, "an ordinary Monday")
        for day in ["2026-11-23", Self.tomorrow] {
            try await central.crm.organisation.setCalendarDay(.system, day: day, working: false, name: "院庆日")
        }
        await #expect(try central.crm.sms.queueHolidayGreetings(.system, day: "2026-11-23") == nil, "no holiday template: nothing runs")
        try await central.crm.sms.saveTemplate(.system, SMSTemplate(id: "holiday", name: "节日问候", kind: "holiday", body: "{name}您好，{hospital}祝您{holiday}快乐！"))
        await #expect(try central.crm.sms.queueHolidayGreetings(.system, day: "2026-11-23") == 4)
        await #expect(try central.crm.sms.queueHolidayGreetings(.system, day: "2026-11-23") == 0, "once per patient and holiday")
        await #expect(try central.crm.sms.queueHolidayGreetings(.system, day: Self.tomorrow) == nil, "the holiday's second day")
        let greetings = try await central.crm.sms.outbox(Staff.manager, SMSOutboxFilter(phone: "+86 138 0000 0001"), page: PageRequest()).items
        #expect(greetings.map(\.body) == ["患者0您好，福州市第一医院祝您院庆日快乐！"])
        #expect(greetings.first?.scheduledAt == "2026-11-23T09:00:00+08:00")

        // A holiday template named like the holiday wins over the general one.
        try await central.crm.sms.saveTemplate(.system, SMSTemplate(id: "spring", name: "春节", kind: "holiday", body: "{name}，新春快乐！"))
        try await central.crm.organisation.setCalendarDay(.system, day: "2026-12-01", working: false, name: "春节")
        await #expect(try central.crm.sms.queueHolidayGreetings(.system, day: "2026-12-01") == 4)
        let spring = try await central.crm.sms.outbox(Staff.manager, SMSOutboxFilter(from: "2026-12-01", to: "2026-12-01"), page: PageRequest()).items
        #expect(Set(spring.map(\.body)) == ["患者0，新春快乐！", "患者1，新春快乐！", "患者2，新春快乐！", "患者3，新春快乐！"])
        // Patients discharged longer ago than holidayGreetingDays are left out.
        try await central.crm.organisation.setSetting(.system, key: "holidayGreetingDays", value: "7")
        try await central.crm.organisation.setCalendarDay(.system, day: "2026-12-03", working: false, name: "测试日")
        await #expect(try central.crm.sms.queueHolidayGreetings(.system, day: "2026-12-03") == 0)
        await #expect(throws: CRMError.self) { try await central.crm.sms.queueHolidayGreetings(Staff.agent, day: "2026-12-03") }
    }

    @Test func theShippedCalendarNamesEachHolidaysFirstDay() {
        let calendar = WorkingCalendar(time: LocalTime())
        #expect(calendar.holidayStarting(on: "2026-10-01") == "国庆节")
        #expect(calendar.holidayStarting(on: "2026-10-02") == nil)
        #expect(calendar.holidayStarting(on: "2026-02-15") == "春节")
        #expect(calendar.holidayStarting(on: "2026-02-14") == nil, "a make-up working day")
        let local = WorkingCalendar(time: LocalTime(), overrides: ["2026-10-01": true], names: [:])
        #expect(local.holidayStarting(on: "2026-10-01") == nil, "the hospital works that day")
        #expect(local.holidayStarting(on: "2026-10-02") == "国庆节", "so its holiday starts the day after")
    }

    @Test func staffCancelAScheduledSendAndWhatIsLeftOfACampaign() async throws {
        let (central, patients) = try await SMSTests.fixture()
        let later = "\(Self.tomorrow)T09:00:00+08:00"
        let single = try await central.crm.sms.send(Staff.agent, patientId: patients[0], phone: nil, body: "明天复查", scheduledAt: later)
        try await central.crm.sms.cancel(Staff.agent, id: single)
        await #expect(throws: CRMError(.conflict, "only a queued message can be cancelled (this one is 'cancelled')")) {
            try await central.crm.sms.cancel(Staff.agent, id: single)
        }
        await #expect(throws: CRMError.self) { try await central.crm.sms.cancel(Staff.agent, id: "no-such-message") }

        let campaign = try await central.crm.sms.createCampaign(
            Staff.manager, name: "心内关怀", templateId: "care", audience: SMSAudience(departments: ["D-CARD"]), scheduledAt: later)
        await #expect(throws: CRMError.self) { try await central.crm.sms.cancelCampaign(Staff.agent, id: campaign.id) }
        await #expect(try central.crm.sms.cancelCampaign(Staff.manager, id: campaign.id) == 3)
        await #expect(try central.crm.sms.cancelCampaign(Staff.manager, id: campaign.id) == 0)
        let listed = try await central.crm.sms.campaigns(Staff.manager, page: PageRequest()).items
        #expect(listed.map(\.id) == [campaign.id] && listed[0].messages == ["cancelled": 3])

        central.clock.advance(hours: 25)
        let gateway = RecordingGateway()
        let report = try await central.crm.sms.dispatch(gateway: gateway)
        #expect(report.sent == 0 && gateway.sent.withLock { $0 }.isEmpty, "nothing cancelled goes out")

        let ward = try TestNode(5, wardNodes: [5: ["W-CARD"]])
        await #expect(throws: CRMError.self) { try await ward.crm.sms.cancel(Staff.manager, id: single) }
    }

    @Test func theOutboxFiltersByStatusCampaignNumberAndDaysAndPages() async throws {
        let (central, patients) = try await SMSTests.fixture()
        let now = try await central.crm.sms.send(Staff.agent, patientId: patients[0], phone: nil, body: "今天", scheduledAt: nil)
        let later = try await central.crm.sms.send(Staff.agent, patientId: patients[1], phone: nil, body: "后天", scheduledAt: "2026-11-25T09:00:00+08:00")
        let campaign = try await central.crm.sms.createCampaign(
            Staff.manager, name: "骨科", templateId: "care", audience: SMSAudience(departments: ["D-ORTH"]), scheduledAt: nil)
        func ids(_ filter: SMSOutboxFilter) async throws -> Set<String> {
            Set(try await central.crm.sms.outbox(Staff.agent, filter, page: PageRequest(limit: 500)).items.map(\.id))
        }
        await #expect(try ids(SMSOutboxFilter(phone: "+86 138-0000-0001")) == [now])
        await #expect(try ids(SMSOutboxFilter(from: "2026-11-25")) == [later])
        await #expect(try ids(SMSOutboxFilter(to: "2026-11-23")).count == 2)
        await #expect(try ids(SMSOutboxFilter(campaignId: campaign.id)).count == 1)
        await #expect(try ids(SMSOutboxFilter(patientId: patients[1])) == [later])
        await #expect(throws: CRMError(.unprocessable, "phone is not a phone number")) { try await ids(SMSOutboxFilter(phone: "abc")) }
        await #expect(throws: CRMError(.invalid, "from and to must be yyyy-MM-dd")) { try await ids(SMSOutboxFilter(from: "tomorrow")) }
        let first = try await central.crm.sms.outbox(Staff.agent, SMSOutboxFilter(), page: PageRequest(limit: 2))
        let second = try await central.crm.sms.outbox(Staff.agent, SMSOutboxFilter(), page: PageRequest(after: first.next, limit: 2))
        #expect(first.items.count == 2 && second.items.count == 1 && second.next == nil)
        #expect(Set(first.items.map(\.id) + second.items.map(\.id)).count == 3)
    }
}
