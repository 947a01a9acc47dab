import CRMDomain
import Foundation
import GRDB
import Replica
import TestSupport
import Testing

/// Rules that send an SMS instead of a call, periodic rules in months, and calls given to a
/// named agent.
@Suite("Follow-up rules: SMS rules, months, assignment")
struct RuleActionTests {
    static func discharged(_ node: TestNode, _ name: String, phone: String, at: String) async throws -> (patient: String, encounter: String) {
        let patient = try await node.patient(name, phone: phone)
        let encounter = try await node.crm.encounters.record(
            Staff.manager,
            EncounterInput(patientId: patient, kind: "inpatient", departmentId: "D-ORTH", wardId: "W-ORTH", diagnosisCode: "S72.0", admittedAt: "2026-01-20T08:00:00+08:00"))
        try await node.crm.encounters.discharge(Staff.manager, encounterId: encounter, at: at, status: .improved)
        return (patient, encounter)
    }

    func ruleTasks(_ node: TestNode, _ encounter: String, rule: String) async throws -> [FollowUpTask] {
        try await node.crm.patients.archive(Staff.manager, patientId: node.crm.encounters.encounter(encounter).patientId).tasks
            .filter { $0.encounterId == encounter && $0.ruleId == rule }.sorted { $0.dueDate < $1.dueDate }
    }

    @Test func aPeriodicRuleInMonthsFallsDueOnTheSameDayOfEachMonthOrItsLast() async throws {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        let rule = try await node.crm.followUps.saveRule(
            Staff.manager,
            FollowUpRule(name: "骨科每月随访", kind: .periodic, triggerEvent: .discharge, intervalMonths: 1, repeatCount: 3, filter: RuleFilter(departments: ["D-ORTH"])))
        let (_, encounter) = try await Self.discharged(node, "月随访", phone: "13800138401", at: "2026-01-31T10:00:00+08:00")
        #expect(try await ruleTasks(node, encounter, rule: rule).map(\.dueDate) == ["2026-02-28", "2026-03-31", "2026-04-30"])
        await #expect(throws: CRMError.self, "days and months at once") {
            try await node.crm.followUps.saveRule(
                Staff.manager, FollowUpRule(name: "两者", kind: .periodic, triggerEvent: .discharge, intervalDays: 30, intervalMonths: 1, repeatCount: 2))
        }
        await #expect(throws: CRMError.self, "more than ten years of months") {
            try await node.crm.followUps.saveRule(Staff.manager, FollowUpRule(name: "太长", kind: .periodic, triggerEvent: .discharge, intervalMonths: 121, repeatCount: 2))
        }
    }

    @Test func anSMSRuleSendsThanksTheDayAfterDischargeOnceAndNeverToTheDesk() async throws {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        try await node.crm.sms.saveTemplate(.system, SMSTemplate(id: "thanks", name: "出院感谢", kind: "followup", body: "{name}您好，感谢您对{department}的信任，祝早日康复。"))
        await #expect(throws: CRMError(.unprocessable, "an sms rule needs its smsTemplateId")) {
            try await node.crm.followUps.saveRule(Staff.manager, FollowUpRule(name: "感谢", kind: .fixedOffset, triggerEvent: .discharge, offsets: [1], action: .sms))
        }
        await #expect(throws: CRMError.self, "an unknown SMS template") {
            try await node.crm.followUps.saveRule(
                Staff.manager, FollowUpRule(name: "感谢", kind: .fixedOffset, triggerEvent: .discharge, offsets: [1], action: .sms, smsTemplateId: "nope"))
        }
        let rule = try await node.crm.followUps.saveRule(
            Staff.manager,
            FollowUpRule(
                name: "出院次日感谢短信", kind: .fixedOffset, triggerEvent: .discharge, offsets: [1], filter: RuleFilter(departments: ["D-ORTH"]), action: .sms,
                smsTemplateId: "thanks"))
        let (_, thanked) = try await Self.discharged(node, "感谢甲", phone: "13800138411", at: "2026-11-22T10:00:00+08:00")
        let (_, cancelled) = try await Self.discharged(node, "感谢乙", phone: "13800138412", at: "2026-11-22T11:00:00+08:00")
        let (_, optedOut) = try await Self.discharged(node, "感谢丙", phone: "13800138413", at: "2026-11-22T12:00:00+08:00")
        try await node.crm.encounters.cancelDischarge(Staff.manager, encounterId: cancelled)
        try await node.crm.sms.receive(phone: "13800138413", body: "退订")
        let task = try #require(try await ruleTasks(node, thanked, rule: rule).first)
        #expect(task.kind == "sms" && task.dueDate == "2026-11-23" && task.templateId == "thanks")

        let desk = try await node.crm.followUps.queue(Staff.agent, day: "2026-11-30", phoneWork: true, page: PageRequest(limit: 500))
        #expect(!desk.items.contains { $0.task.kind == "sms" }, "the desk never calls an SMS")
        await #expect(try node.crm.sms.sendRuleMessages(day: "2026-11-22") == 0, "not due yet")
        await #expect(try node.crm.sms.sendRuleMessages(day: "2026-11-23") == 1)
        await #expect(try node.crm.sms.sendRuleMessages(day: "2026-11-23") == 0, "once")
        let messages = try await node.crm.sms.outbox(Staff.manager, SMSOutboxFilter(phone: "13800138411"), page: PageRequest()).items
        #expect(messages.map(\.body) == ["感谢甲您好，感谢您对骨科的信任，祝早日康复。"])
        #expect(try await ruleTasks(node, thanked, rule: rule).first?.doneAt != nil, "the task is closed")
        #expect(try await ruleTasks(node, cancelled, rule: rule).allSatisfy { $0.withdrawn && $0.doneAt == nil }, "a cancelled discharge sends nothing")
        let barred = try #require(try await ruleTasks(node, optedOut, rule: rule).first)
        #expect(barred.doneAt != nil && barred.note?.contains("opted out") == true)
        await #expect(try node.crm.sms.outbox(Staff.manager, SMSOutboxFilter(phone: "13800138413"), page: PageRequest()).items.isEmpty)

        // Applied to a discharge weeks ago: closed unsent, not "thanks for yesterday" a month late.
        let (_, old) = try await Self.discharged(node, "感谢丁", phone: "13800138414", at: "2026-11-01T10:00:00+08:00")
        _ = try await node.crm.followUps.applyRule(Staff.manager, ruleId: rule, since: "2026-10-01")  // made at the discharge already
        await #expect(try node.crm.sms.sendRuleMessages(day: "2026-11-23") == 0)
        let late = try #require(try await ruleTasks(node, old, rule: rule).first)
        #expect(late.doneAt != nil && late.note?.contains("more than 3 days ago") == true)
        await #expect(throws: CRMError.self, "a rule naming an unknown survey") {
            try await node.crm.followUps.saveRule(
                Staff.manager, FollowUpRule(name: "链接", kind: .fixedOffset, triggerEvent: .discharge, offsets: [1], templateId: "nope", action: .sms, smsTemplateId: "thanks"))
        }
    }

    @Test func anSMSRulesTextWaitsForTheGreetingTimeSoACancelledDischargeBeforeThenSendsNothing() async throws {
        let node = try TestNode(1, clock: TestClock(date: TestClock.hospitalMorning.addingTimeInterval(-3 * 3600)))  // 06:00
        try await node.seedOrganisation()
        try await node.crm.sms.saveTemplate(.system, SMSTemplate(id: "thanks", name: "出院感谢", kind: "followup", body: "{name}您好，感谢信任。"))
        _ = try await node.crm.followUps.saveRule(
            Staff.manager,
            FollowUpRule(
                name: "感谢", kind: .fixedOffset, triggerEvent: .discharge, offsets: [1], filter: RuleFilter(departments: ["D-ORTH"]), action: .sms,
                smsTemplateId: "thanks"))
        let (_, encounter) = try await Self.discharged(node, "早晨取消", phone: "13800138421", at: "2026-11-22T10:00:00+08:00")
        await #expect(try node.crm.sms.sendRuleMessages(day: "2026-11-23") == 0, "before 09:00 nothing is queued")
        try await node.crm.encounters.cancelDischarge(Staff.manager, encounterId: encounter)
        node.clock.advance(hours: 4)
        await #expect(try node.crm.sms.sendRuleMessages(day: "2026-11-23") == 0, "the cancelled discharge withdrew it")
        await #expect(try node.crm.sms.outbox(Staff.manager, SMSOutboxFilter(phone: "13800138421"), page: PageRequest()).items.isEmpty)
    }

    @Test func aManagerGivesACallToANamedAgentAndOnlyThemAndOnlyAnOpenUnclaimedCall() async throws {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        for name in ["agent1", "agent2"] {
            try await node.crm.accounts.saveUser(.system, username: name, displayName: name, role: .agent, password: "password-\(name)")
        }
        try await node.crm.accounts.saveUser(.system, username: "nurse1", displayName: "nurse1", role: .visitor, password: "password-nurse1", wardId: "W-CARD")
        let patient = try await node.patient("指派患者")
        let oneOff = try await node.crm.followUps.createTask(Staff.manager, patientId: patient, dueDate: "2026-11-24", note: "复诊提醒", templateId: nil, assignee: "agent2")
        await #expect(try node.crm.followUps.task(oneOff).claimedBy == "agent2")
        await #expect(throws: CRMError.self, "agent1 cannot take agent2's call") { try await node.crm.followUps.claim(Staff.agent, taskId: oneOff) }
        await #expect(throws: CRMError(.unprocessable, "assign to an active agent or manager account")) {
            try await node.crm.followUps.createTask(Staff.manager, patientId: patient, dueDate: "2026-11-24", note: nil, templateId: nil, assignee: "nurse1")
        }
        await #expect(throws: CRMError.self, "an unknown survey") {
            try await node.crm.followUps.createTask(Staff.manager, patientId: patient, dueDate: "2026-11-24", note: nil, templateId: "nope")
        }

        await #expect(throws: CRMError(.forbidden, "an agent assigns a call only to themselves")) {
            try await node.crm.followUps.createTask(Staff.agent, patientId: patient, dueDate: "2026-11-24", note: nil, templateId: nil, assignee: "agent2")
        }
        let kept = try await node.crm.followUps.createTask(Staff.agent, patientId: patient, dueDate: "2026-11-24", note: nil, templateId: nil, assignee: "agent1")
        await #expect(try node.crm.followUps.task(kept).claimedBy == "agent1")
        let open = try await node.crm.followUps.createTask(Staff.agent, patientId: patient, dueDate: "2026-11-25", note: nil, templateId: nil)
        await #expect(throws: CRMError.self, "an agent does not hand out work") { try await node.crm.followUps.assign(Staff.agent, taskId: open, to: "agent2") }
        await #expect(throws: CRMError.self) { try await node.crm.followUps.assign(Staff.manager, taskId: open, to: "ghost") }
        try await node.crm.followUps.assign(Staff.manager, taskId: open, to: "agent1")
        await #expect(try node.crm.followUps.task(open).claimedBy == "agent1")
        await #expect(throws: CRMError(.conflict, "task '\(open)' is already claimed by 'agent1'")) {
            try await node.crm.followUps.assign(Staff.manager, taskId: open, to: "agent2")
        }
        _ = try await node.crm.followUps.record(Staff.agent, taskId: open, outcome: .reached, note: nil, nextAction: nil)
        await #expect(throws: CRMError(.conflict, "task '\(open)' is closed")) { try await node.crm.followUps.assign(Staff.manager, taskId: open, to: "agent1") }
    }
}
