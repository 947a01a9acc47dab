import CRMDomain
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import TestSupport
import Testing

@testable import NodeHTTP
@testable import NodeRuntime

/// A gateway that keeps what it was given.
final class KeepingGateway: SMSGateway {
    let sent = Mutex<[OutgoingSMS]>([])

    func send(_ message: OutgoingSMS) throws -> GatewayReceipt {
        sent.withLock { $0.append(message) }
        return GatewayReceipt(reference: "ref-" + message.messageId, delivered: nil)
    }
}

/// The patient's page behind an SMS survey link: no login, answered once, clear pages otherwise.
@Suite("Web UI: SMS-link survey")
struct SurveyLinkPageTests {
    @Test func aPatientAnswersFromTheLinkOnceWithoutLoggingIn() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-CARD", name: "心内科"))
            _ = try await crm.surveys.saveTemplate(.system, id: "bedside", name: "满意度调查", purpose: "bedside", diseaseCode: nil, definition: bedsideTemplate)
            try await crm.organisation.setSetting(.system, key: "surveyLinkBase", value: "https://sf.example.cn")
            try await crm.sms.saveTemplate(.system, SMSTemplate(id: "rate", name: "满意度", kind: "followup", body: "请评价：{surveyLink}"))
            let patient = try await crm.patients.create(.system, PatientInput(name: "链接患者", phone: "13800138701"))
            _ = try await crm.encounters.record(.system, EncounterInput(patientId: patient, kind: "outpatient", departmentId: "D-CARD", admittedAt: crm.currentTimestamp()))
            _ = try await crm.sms.createCampaign(
                Caller(userId: "manager", role: .manager), name: "评价", templateId: "rate", audience: SMSAudience(departments: ["D-CARD"]), scheduledAt: nil,
                surveyTemplateId: "bedside")
            let gateway = KeepingGateway()
            _ = try await crm.sms.dispatch(gateway: gateway)
            let link = try #require(gateway.sent.withLock { $0 }.first?.body.split(separator: "：").last.map(String.init))
            let path = String(link.dropFirst("https://sf.example.cn".count))

            let page = try await client.execute(uri: path, method: .get) { ($0.status, String(buffer: $0.body)) }
            #expect(page.0 == .ok && page.1.contains("id=\"survey\"") && page.1.contains("满意度调查"))
            #expect(!page.1.contains("链接患者") && !page.1.contains("13800138701"), "no patient data on the page")
            let headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            let incomplete = try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: "q_overall=5")) {
                ($0.status, String(buffer: $0.body))
            }
            #expect(incomplete.0 == .ok && incomplete.1.contains("class=\"error\"") && incomplete.1.contains("id=\"survey\""), "a missing answer is said so")
            let answers = "templateVersion=1&q_overall=5&q_nps=9&q_complained=no&opinionKind=praise&opinionText=%E5%BE%88%E5%A5%BD"
            let sent = try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: answers)) { ($0.status, String(buffer: $0.body)) }
            #expect(sent.0 == .ok && sent.1.contains("提交成功"))
            let responses = try await crm.surveys.responses(Caller(userId: "manager", role: .manager), since: nil, page: PageRequest()).items
            #expect(responses.count == 1 && responses[0].mode == "sms" && responses[0].patientId == patient)
            let again = try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: answers)) { ($0.status, String(buffer: $0.body)) }
            #expect(again.0 == .ok && again.1.contains("已经提交过"))
            #expect(try await crm.surveys.responses(Caller(userId: "manager", role: .manager), since: nil, page: PageRequest()).items.count == 1, "once")
            #expect(try await client.execute(uri: path, method: .get) { String(buffer: $0.body) }.contains("已经提交过"))

            let forged = String(path.dropLast()) + (path.hasSuffix("A") ? "B" : "A")
            let unknown = try await client.execute(uri: forged, method: .get) { ($0.status, String(buffer: $0.body)) }
            #expect(unknown.0 == .notFound && unknown.1.contains("链接无效"))
            #expect(try await client.execute(uri: forged, method: .post, headers: headers, body: ByteBuffer(string: answers)) { $0.status } == .notFound)
            #expect(try await client.execute(uri: "/s/%FF%FE", method: .get) { $0.status }.code >= 400)
        }
    }
}
