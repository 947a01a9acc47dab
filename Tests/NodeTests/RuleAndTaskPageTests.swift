import CRMDomain
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import NodeHTTP
@testable import NodeRuntime

/// The rules page (edit, deactivate, SMS rules, months, apply to earlier encounters) and the call
/// planning page (one-off calls, given to a named agent).
@Suite("Web UI: rules and call planning")
struct RuleAndTaskPageTests {
    static let manager = Caller(userId: "manager", role: .manager)

    @Test func aManagerWritesAnSMSRuleChangesItDeactivatesItAndAppliesARuleToEarlierDischarges() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-CARD", name: "心内科"))
            try await crm.organisation.saveReference(.system, .ward, ReferenceItem(id: "W-CARD", name: "心内一病区", departmentId: "D-CARD"))
            try await crm.sms.saveTemplate(.system, SMSTemplate(id: "thanks", name: "出院感谢", kind: "followup", body: "{name}您好，感谢信任。"))
            // Discharged ten days ago, before any rule.
            let patient = try await crm.patients.create(.system, PatientInput(name: "早出院", phone: "13800138501"))
            let tenDaysAgo = try #require(crm.time.day(crm.today(), plus: -10))
            let encounter = try await crm.encounters.record(
                .system, EncounterInput(patientId: patient, kind: "inpatient", departmentId: "D-CARD", wardId: "W-CARD", admittedAt: "\(tenDaysAgo)T08:00:00+08:00"))
            try await crm.encounters.discharge(.system, encounterId: encounter, at: "\(tenDaysAgo)T16:00:00+08:00", status: .improved)

            let cookie = try await WebArchiveAndChartTests.logIn(client, "manager")
            func post(_ uri: String, _ body: String) async throws -> (HTTPResponse.Status, String, String) { try await SMSPageTests.post(client, uri, body, cookie) }
            let refused = try await post("/rules", "name=%E6%AF%8F%E6%9C%88&kind=periodic&trigger=discharge&repeat=3&ruleAction=call&action=save")
            #expect(refused.0 == .ok && refused.2.contains("周期规则须设置") && refused.2.contains("value=\"每月\""), "refused, with the input kept")
            let monthly = try await post("/rules", "name=%E6%AF%8F%E6%9C%88&kind=periodic&trigger=discharge&interval=1&intervalUnit=months&repeat=3&ruleAction=call&action=save")
            #expect(monthly.0 == .seeOther)
            let sms = try await post(
                "/rules", "name=%E6%84%9F%E8%B0%A2&kind=fixed-offset&trigger=discharge&offsets=1&ruleAction=sms&smsTemplateId=thanks&departments=D-CARD&action=save")
            #expect(sms.0 == .seeOther, "\(sms.2)")
            let rules = try await crm.followUps.rules()
            let smsRule = try #require(rules.first { $0.name == "感谢" }), monthlyRule = try #require(rules.first { $0.name == "每月" })
            #expect(smsRule.action == .sms && smsRule.smsTemplateId == "thanks" && smsRule.templateId == nil)
            #expect(monthlyRule.intervalMonths == 1 && monthlyRule.intervalDays == nil)
            let list = try await SMSPageTests.page(client, "/rules", cookie).1
            #expect(list.contains("每 1 个月 × 3") && list.contains("发送短信: 出院感谢"))

            // Change it: the editor holds the saved rule; unticking "active" deactivates it.
            let id = try #require(smsRule.id)
            let editor = try await SMSPageTests.page(client, "/rules?edit=\(id)", cookie).1
            #expect(editor.contains("name=\"id\" value=\"\(id)\"") && editor.contains("<option value=\"sms\" selected>") && editor.contains("name=\"active\" value=\"1\" checked"))
            #expect(editor.contains("<option value=\"D-CARD\" selected>") && editor.contains("<option value=\"discharge\" selected>"))
            let blank = try await SMSPageTests.page(client, "/rules", cookie).1
            #expect(blank.contains("<option value=\"discharge\" selected>"), "a new rule follows discharges")
            let deactivated = try await post(
                "/rules", "id=\(id)&name=%E6%84%9F%E8%B0%A2&kind=fixed-offset&trigger=discharge&offsets=1,2&ruleAction=sms&smsTemplateId=thanks&action=save")
            #expect(deactivated.0 == .seeOther)
            let changed = try #require(try await crm.followUps.rules().first { $0.id == id })
            #expect(!changed.active && changed.offsets == [1, 2] && changed.filter.departments == nil)

            // Applied to the discharge before it: the monthly rule makes its three calls, once.
            let since = try #require(crm.time.day(crm.today(), plus: -30))
            let applied = try await post("/rules/\(monthlyRule.id ?? "")/apply", "since=\(since)")
            #expect(applied.0 == .ok && applied.2.contains("已生成任务: 3"))
            #expect(try await post("/rules/\(monthlyRule.id ?? "")/apply", "since=\(since)").2.contains("已生成任务: 0"))
            #expect(try await post("/rules/nope/apply", "since=\(since)").2.contains("class=\"error\""))
        }
    }

    @Test func callsArePlannedOnADayAndGivenToANamedAgent() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            let patient = try await crm.patients.create(.system, PatientInput(name: "计划随访", phone: "13800138510"))
            let tomorrow = try #require(crm.time.day(crm.today(), plus: 1))
            let manager = try await WebArchiveAndChartTests.logIn(client, "manager")
            let agent = try await WebArchiveAndChartTests.logIn(client, "agent")
            let given = try await SMSPageTests.post(
                client, "/tasks", "patientId=\(patient)&dueDate=\(tomorrow)&note=%E5%A4%8D%E6%9F%A5&assignee=agent2", manager)
            #expect(given.0 == .seeOther)
            let mine = try await SMSPageTests.post(client, "/tasks", "patientId=\(patient)&dueDate=\(tomorrow)&mine=1", agent)
            #expect(mine.0 == .seeOther)
            let open = try await crm.followUps.createTask(Self.manager, patientId: patient, dueDate: tomorrow, note: "待指派", templateId: nil)
            let bad = try await SMSPageTests.post(client, "/tasks", "patientId=nobody&dueDate=\(tomorrow)&note=%E8%AE%B0", agent)
            #expect(bad.0 == .ok && bad.2.contains("nobody") && bad.2.contains(">记</textarea>"), "refused, with the input kept")

            let week = try await SMSPageTests.page(client, "/tasks", manager).1
            #expect(week.contains("复查") && week.contains("待指派") && week.contains("/tasks/\(open)/assign"))
            let unclaimed = try await SMSPageTests.page(client, "/tasks?holder=-", manager).1
            #expect(unclaimed.contains("待指派") && !unclaimed.contains("复查"))
            await #expect(try crm.followUps.openCalls(Self.manager, range: DayRange(from: tomorrow, to: tomorrow), holder: "agent", page: PageRequest()).items.count == 1)

            #expect(try await SMSPageTests.post(client, "/tasks/\(open)/assign", "assignee=agent", agent).0 == .forbidden)
            let assigned = try await SMSPageTests.post(client, "/tasks/\(open)/assign", "assignee=agent&holder=-", manager)
            #expect(assigned.0 == .seeOther && assigned.1.contains("holder=-"))
            await #expect(try crm.followUps.task(open).claimedBy == "agent")
            let again = try await SMSPageTests.post(client, "/tasks/\(open)/assign", "assignee=agent2", manager)
            #expect(again.0 == .ok && again.2.contains("已被"))
        }
    }
}
