import CRMDomain
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import NodeHTTP
@testable import NodeRuntime

/// The SMS pages: templates, the group send and its campaigns, the outbox with filters and
/// paging, the one-to-one send from an archive, cancelling, the reminder and greeting settings.
@Suite("Web UI: SMS")
struct SMSPageTests {
    /// A form post's status, Location and page.
    static func post(_ client: any TestClientProtocol, _ uri: String, _ body: String, _ cookie: String) async throws -> (HTTPResponse.Status, String, String) {
        let (headers, buffer) = DeskAndEditorTests.form(body, cookie)
        return try await client.execute(uri: uri, method: .post, headers: headers, body: buffer) {
            ($0.status, $0.headers[.location] ?? "", String(buffer: $0.body))
        }
    }

    static func page(_ client: any TestClientProtocol, _ uri: String, _ cookie: String) async throws -> (HTTPResponse.Status, String) {
        try await client.execute(uri: uri, method: .get, headers: [.cookie: cookie]) { ($0.status, String(buffer: $0.body)) }
    }

    @Test func aManagerWritesTemplatesSendsToAnAudienceAndCancelsWhatIsLeft() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-CARD", name: "心内科"))
            for (name, phone) in [("群发甲", "13800138301"), ("群发乙", "13800138302")] {
                let patient = try await crm.patients.create(.system, PatientInput(name: name, phone: phone))
                _ = try await crm.encounters.record(
                    .system, EncounterInput(patientId: patient, kind: "outpatient", departmentId: "D-CARD", admittedAt: crm.currentTimestamp()))
            }
            let manager = try await WebArchiveAndChartTests.logIn(client, "manager")
            func post(_ uri: String, _ body: String) async throws -> (HTTPResponse.Status, String, String) { try await Self.post(client, uri, body, manager) }

            // A template with an unknown placeholder is refused with what was typed kept.
            let refused = try await post("/sms/templates", "id=care&name=%E5%85%B3%E6%80%80&kind=followup&body=%7Bphone%7D%E6%82%A8%E5%A5%BD")
            #expect(refused.0 == .ok && refused.2.contains("未知的占位符") && refused.2.contains("{phone}您好</textarea>"))
            let saved = try await post("/sms/templates", "id=care&name=%E5%85%B3%E6%80%80&kind=followup&body=%7Bname%7D%E6%82%A8%E5%A5%BD")
            #expect(saved.0 == .seeOther && saved.1 == "/sms/templates?saved=1")
            let editor = try await Self.page(client, "/sms/templates?edit=care", manager).1
            #expect(editor.contains("value=\"care\" readonly") && editor.contains("{name}您好</textarea>") && editor.contains("随访关怀"))
            #expect(try await crm.sms.templates().map(\.body) == ["{name}您好"])

            // A campaign for tomorrow, then cancelled before it goes out.
            let tomorrow = try #require(crm.time.day(crm.today(), plus: 1))
            let bad = try await post("/sms/campaigns", "name=%E5%85%B3%E6%80%80&templateId=care&departments=D-CARD&scheduledAt=soon")
            #expect(bad.0 == .ok && bad.2.contains("class=\"error\"") && bad.2.contains("value=\"关怀\""), "a bad time is named and the form kept")
            let sent = try await post("/sms/campaigns", "name=%E5%85%B3%E6%80%80&templateId=care&departments=D-CARD&scheduledAt=\(tomorrow)T09:00")
            #expect(sent.0 == .seeOther, "\(sent.2)")
            var composer = try await Self.page(client, "/sms", manager).1
            let campaign = try #require(try await crm.sms.campaigns(Caller(userId: "manager", role: .manager), page: PageRequest()).items.first)
            #expect(campaign.messages == ["queued": 2] && composer.contains("/sms/campaigns/\(campaign.id)/cancel"))
            #expect(try await post("/sms/campaigns/\(campaign.id)/cancel", "").0 == .seeOther)
            composer = try await Self.page(client, "/sms", manager).1
            #expect(!composer.contains("/sms/campaigns/\(campaign.id)/cancel"), "nothing left to cancel")
            let outbox = try await Self.page(client, "/sms/outbox?campaignId=\(campaign.id)", manager).1
            #expect(outbox.components(separatedBy: "data-status=\"cancelled\"").count == 3 && outbox.contains("群发甲"))

            // An agent has the outbox and the replies, not the composer or the templates.
            let agent = try await WebArchiveAndChartTests.logIn(client, "agent")
            #expect(try await Self.page(client, "/sms/templates", agent).0 == .forbidden)
            #expect(try await Self.page(client, "/sms", agent).0 == .forbidden)
            #expect(try await Self.post(client, "/sms/campaigns/\(campaign.id)/cancel", "", agent).0 == .forbidden)
        }
    }

    @Test func anAgentTextsFromAnArchiveFindsItInTheOutboxAndCancelsIt() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            let patient = try await crm.patients.create(.system, PatientInput(name: "短信患者", phone: "13800138310"))
            let agent = try await WebArchiveAndChartTests.logIn(client, "agent")
            let archive = try await Self.page(client, "/patients/\(patient)", agent).1
            #expect(archive.contains("id=\"patient-sms\""))
            let tomorrow = try #require(crm.time.day(crm.today(), plus: 1))
            let empty = try await Self.post(client, "/patients/\(patient)/sms", "body=&scheduledAt=\(tomorrow)T08:00", agent)
            #expect(empty.0 == .ok && empty.2.contains("请选择模板或填写内容") && empty.2.contains("value=\"\(tomorrow)T08:00\""))
            let sent = try await Self.post(client, "/patients/\(patient)/sms", "body=%E6%98%8E%E5%A4%A9%E5%A4%8D%E6%9F%A5&scheduledAt=\(tomorrow)T08:00", agent)
            #expect(sent.0 == .seeOther && sent.1 == "/sms/outbox?patientId=\(patient)&saved=1")
            var outbox = try await Self.page(client, sent.1, agent).1
            #expect(outbox.contains("明天复查") && outbox.contains("138****8310") && !outbox.contains("13800138310"))
            let message = try #require(try await crm.sms.outbox(Caller(userId: "agent", role: .agent), status: .queued, page: PageRequest()).items.first)
            let cancelled = try await Self.post(client, "/sms/\(message.id)/cancel", "patientId=\(patient)", agent)
            #expect(cancelled.0 == .seeOther && cancelled.1 == "/sms/outbox?patientId=\(patient)&saved=1", "back to the same filter")
            outbox = try await Self.page(client, cancelled.1, agent).1
            #expect(outbox.contains("data-status=\"cancelled\"") && outbox.contains("已取消"))
            let again = try await Self.post(client, "/sms/\(message.id)/cancel", "patientId=\(patient)", agent)
            #expect(again.0 == .ok && again.2.contains("只有待发送的短信可以取消"))

            // Filters: a wrong number is said so; a status narrows the list.
            #expect(try await Self.page(client, "/sms/outbox?phone=abc", agent).1.contains("不是有效的电话号码"))
            #expect(try await Self.page(client, "/sms/outbox?status=queued", agent).1.contains("class=\"muted\""))
            #expect(try await Self.page(client, "/sms/outbox?phone=%2B86%20138-0013-8310&status=cancelled", agent).1.contains("明天复查"))
        }
    }

    @Test func theOutboxPagesWithItsFiltersKept() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            let agentCaller = Caller(userId: "agent", role: .agent)
            for index in 0..<(WebUI.outboxPageSize + 3) {
                _ = try await crm.sms.send(agentCaller, patientId: nil, phone: "1380013\(String(1000 + index))", body: "第\(index)条", scheduledAt: nil)
            }
            let agent = try await WebArchiveAndChartTests.logIn(client, "agent")
            let first = try await Self.page(client, "/sms/outbox?status=queued", agent).1
            let next = try #require(first.range(of: "id=\"outbox-next\" href=\"")).upperBound
            let link = String(first[next...].prefix { $0 != "\"" }).replacingOccurrences(of: "&amp;", with: "&")
            #expect(link.hasPrefix("/sms/outbox?status=queued&after="))
            let second = try await Self.page(client, link, agent).1
            #expect(second.components(separatedBy: "<tr id=\"sms-").count - 1 == 3 && !second.contains("outbox-next"))
        }
    }

    @Test func anAdminSetsWhenRemindersGoOutAndWhoHolidayGreetingsReach() async throws {
        try await APITests.withNode { runtime, client in
            let admin = try await WebArchiveAndChartTests.logIn(client, "admin")
            #expect(try await Self.post(client, "/organisation/settings", "appointmentReminderTime=25:00", admin).0 == .badRequest)
            #expect(try await Self.post(client, "/organisation/settings", "holidayGreetingDays=0", admin).0 == .badRequest)
            #expect(try await Self.post(client, "/organisation/settings", "appointmentReminderTime=18:30&holidayGreetingDays=180", admin).0 == .seeOther)
            let settings = try await runtime.crm.organisation.settings()
            #expect(settings["appointmentReminderTime"] == "18:30" && settings["holidayGreetingDays"] == "180")
            let page = try await Self.page(client, "/organisation", admin).1
            #expect(page.contains("type=\"time\" id=\"set-appointmentReminderTime\" name=\"appointmentReminderTime\" value=\"18:30\""))
        }
    }
}
