import CRMDomain
import Foundation
import GRDB
import Replica
import Synchronization
import TestSupport
import Testing

/// Surveys patients answer from a link in an SMS: the link is written in when the SMS is sent,
/// opens its survey once, expires, and means nothing to another node or with one character changed.
@Suite("SMS-link surveys")
struct SurveyLinkTests {
    static let answers: [String: JSONValue] = ["overall": .number(5), "nps": .number(10), "complained": .string("no")]

    /// A campaign with survey links to the cardiology patients, sent; returns the links by number.
    static func sentLinks(_ node: TestNode) async throws -> [String: String] {
        try await node.crm.sms.saveTemplate(.system, SMSTemplate(id: "rate", name: "满意度", kind: "followup", body: "{name}您好，请评价：{surveyLink}"))
        let cardiac = SMSAudience(departments: ["D-CARD"])
        await #expect(throws: CRMError(.unprocessable, "the template has a {surveyLink}: choose the survey it opens")) {
            try await node.crm.sms.createCampaign(Staff.manager, name: "评价", templateId: "rate", audience: cardiac, scheduledAt: nil)
        }
        await #expect(throws: CRMError.self, "an unknown survey") {
            try await node.crm.sms.createCampaign(Staff.manager, name: "评价", templateId: "rate", audience: cardiac, scheduledAt: nil, surveyTemplateId: "nope")
        }
        _ = try await node.crm.sms.createCampaign(Staff.manager, name: "评价", templateId: "rate", audience: cardiac, scheduledAt: nil, surveyTemplateId: "bedside")
        let gateway = RecordingGateway()
        var report = try await node.crm.sms.dispatch(gateway: gateway)
        #expect(report.failed == 3 && gateway.sent.withLock { $0 }.isEmpty, "no link address set: failed, nothing sent")
        let failed = try await node.crm.sms.outbox(Staff.manager, status: .failed, page: PageRequest()).items
        #expect(failed.allSatisfy { $0.error?.contains("surveyLinkBase") == true })
        try await node.crm.organisation.setSetting(.system, key: "surveyLinkBase", value: "https://sf.example.cn/")
        for message in failed { try await node.crm.sms.resend(Staff.manager, id: message.id) }
        report = try await node.crm.sms.dispatch(gateway: gateway)
        #expect(report.sent == 2, "the number ending 0000 is refused by the gateway")
        var links: [String: String] = [:]
        for message in gateway.sent.withLock({ $0 }) {
            let link = try #require(message.body.split(separator: "：").last.map(String.init))
            #expect(link.hasPrefix("https://sf.example.cn/s/"))
            links[message.phone] = String(link.dropFirst("https://sf.example.cn/s/".count))
        }
        // The token is in the text sent, not in the outbox (nor anywhere a replica holds).
        let stored = try await node.crm.sms.outbox(Staff.manager, status: nil, page: PageRequest(limit: 500)).items
        #expect(stored.allSatisfy { $0.body.hasSuffix("{surveyLink}") })
        return links
    }

    @Test func aLinkOpensItsSurveyOnceForItsPatientAsAnSMSResponse() async throws {
        let (central, patients) = try await SMSTests.fixture()
        let links = try await Self.sentLinks(central)
        let token = try #require(links["13800000001"])
        let invitation = try await central.crm.surveys.invitation(token: token)
        #expect(invitation.state == .open && invitation.template.id == "bedside" && invitation.hospital == "福州市第一医院")

        let receipt = try await central.crm.surveys.answer(
            token: token, templateVersion: invitation.template.version, answers: Self.answers, opinion: OpinionInput(kind: .praise, text: "护士很耐心"))
        let response = try #require(try await central.crm.surveys.responses(Staff.manager, since: nil, page: PageRequest()).items.first { $0.id == receipt.id })
        #expect(response.mode == "sms" && response.patientId == patients[0] && response.staffId == "sms-link")
        await #expect(try central.crm.surveys.invitation(token: token).state == .answered)
        await #expect(throws: CRMError(.conflict, "this survey was already answered")) {
            try await central.crm.surveys.answer(token: token, templateVersion: invitation.template.version, answers: Self.answers, opinion: nil)
        }
        // Answers are checked against the survey like any other.
        let other = try #require(links["13800000002"])
        await #expect(throws: CRMError.self) {
            try await central.crm.surveys.answer(token: other, templateVersion: invitation.template.version, answers: ["overall": .number(9)], opinion: nil)
        }
        await #expect(try central.crm.surveys.invitation(token: other).state == .open, "a refused answer leaves the link open")
    }

    @Test func aChangedExpiredOrForeignLinkOpensNothing() async throws {
        let (central, _) = try await SMSTests.fixture()
        let links = try await Self.sentLinks(central)
        let token = try #require(links["13800000001"])
        let last = token.last == "A" ? "B" : "A"
        for forged in [String(token.dropLast()) + last, "sms-0000000000000000000000000.AAAAAAAAAAAAAAAAAAAAAA", "", ".", "x", String(repeating: "a", count: 500)] {
            await #expect(throws: CRMError.self, "\(forged.prefix(20))") { try await central.crm.surveys.invitation(token: forged) }
            await #expect(throws: CRMError.self) {
                try await central.crm.surveys.answer(token: forged, templateVersion: 1, answers: Self.answers, opinion: nil)
            }
        }
        // Another node holds the invitation but not the key: the link is not its to open.
        let callCenter = try TestNode(2, callCenters: [2])
        try central.sync(with: callCenter)
        await #expect(throws: CRMError.self) { try await callCenter.crm.surveys.invitation(token: token) }
        // After surveyLinkDays (7) the link has expired.
        central.clock.advance(hours: 24 * 8)
        await #expect(try central.crm.surveys.invitation(token: token).state == .expired)
        await #expect(throws: CRMError(.conflict, "this link has expired")) {
            try await central.crm.surveys.answer(token: token, templateVersion: 1, answers: Self.answers, opinion: nil)
        }
        await #expect(throws: CRMError.self, "one message at a time carries no survey link") {
            try await central.crm.sms.send(Staff.agent, patientId: nil, phone: "13800000001", body: "评价：{surveyLink}", scheduledAt: nil)
        }
    }

    @Test func anSMSRuleSendsTheLinkToItsSurveyWithTheEncountersDepartment() async throws {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        try await node.crm.organisation.setSetting(.system, key: "surveyLinkBase", value: "https://sf.example.cn")
        try await node.crm.sms.saveTemplate(.system, SMSTemplate(id: "rate", name: "满意度", kind: "followup", body: "请评价：{surveyLink}"))
        _ = try await node.crm.followUps.saveRule(
            Staff.manager,
            FollowUpRule(
                name: "出院次日评价", kind: .fixedOffset, triggerEvent: .discharge, offsets: [1], filter: RuleFilter(departments: ["D-ORTH"]),
                templateId: "bedside", action: .sms, smsTemplateId: "rate"))
        let (patient, _) = try await RuleActionTests.discharged(node, "链接患者", phone: "13800138601", at: "2026-11-22T10:00:00+08:00")
        await #expect(try node.crm.sms.sendRuleMessages(day: "2026-11-23") == 1)
        node.clock.advance(hours: 24)
        let gateway = RecordingGateway()
        _ = try await node.crm.sms.dispatch(gateway: gateway)
        let body = try #require(gateway.sent.withLock { $0 }.first?.body)
        let token = String(body.dropFirst("请评价：https://sf.example.cn/s/".count))
        let invitation = try await node.crm.surveys.invitation(token: token)
        let receipt = try await node.crm.surveys.answer(token: token, templateVersion: invitation.template.version, answers: Self.answers, opinion: nil)
        let response = try #require(try await node.crm.surveys.responses(Staff.manager, since: nil, page: PageRequest()).items.first { $0.id == receipt.id })
        #expect(response.patientId == patient && response.departmentId == "D-ORTH" && response.wardId == "W-ORTH" && response.mode == "sms")
    }
}
