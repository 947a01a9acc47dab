import CRMDomain
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import NodeHTTP
@testable import NodeRuntime

/// The consultation counter on /consultations: register, route, answer, filter.
@Suite("Web UI: consultations")
struct ConsultationPageTests {
    @Test func anAgentRegistersRoutesAndAnswersConsultationsFromTheList() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-CARD", name: "心内科"))
            let patient = try await crm.patients.create(.system, PatientInput(name: "咨询患者", phone: "13800138127"))
            let agent = try await WebArchiveAndChartTests.logIn(client, "agent")
            func post(_ uri: String, _ body: String) async throws -> (HTTPResponse.Status, String) {
                try await EncounterPageTests.post(client, uri, body, agent)
            }
            func page(_ uri: String) async throws -> String {
                try await client.execute(uri: uri, method: .get, headers: [.cookie: agent]) { String(buffer: $0.body) }
            }
            #expect(try await post("/consultations", "phone=13900139000&topic=探视时间&content=周末可以探视吗").0 == .seeOther)
            #expect(try await post("/consultations", "patientId=\(patient)&topic=复诊&content=何时复诊").0 == .seeOther)
            // Refused input comes back with its reason; nothing is stored.
            let refused = try await post("/consultations", "phone=13900139000&topic=&content=空主题")
            #expect(refused.0 == .ok && refused.1.contains("topic"))
            let open = try await crm.service.consultations(Caller(userId: "agent", role: .agent), status: "open", page: PageRequest())
            #expect(open.items.map(\.topic) == ["探视时间", "复诊"], "oldest first, the refused one not stored")

            let list = try await page("/consultations")
            #expect(list.contains("探视时间") && list.contains("139****9000") && !list.contains("13900139000"), "an anonymous caller's number is masked")
            let anonymous = open.items[0].id
            #expect(try await post("/consultations/\(anonymous)/route", "departmentId=D-CARD").0 == .seeOther)
            let routed = try await page("/consultations?status=open&department=D-CARD")
            #expect(routed.contains("探视时间") && !routed.contains("复诊"))
            #expect(try await post("/consultations/\(anonymous)/answer", "handling=周末全天可探视").0 == .seeOther)
            #expect(!(try await page("/consultations")).contains("探视时间"), "answered ones leave the open list")
            let answered = try await page("/consultations?status=answered")
            #expect(answered.contains("探视时间") && answered.contains("周末全天可探视"))
            // Nor answered again: a second answer (another agent, a stale page) overwrites nothing.
            let second = try await post("/consultations/\(anonymous)/answer", "handling=另一个答复")
            #expect(second.0 == .ok && second.1.contains("已答复"))
            #expect(try await crm.service.consultations(Caller(userId: "agent", role: .agent), status: "answered", page: PageRequest()).items.first?.handling == "周末全天可探视")
            // A routed consultation that is answered cannot be routed again.
            let again = try await post("/consultations/\(anonymous)/route", "departmentId=D-CARD")
            #expect(again.0 == .ok && again.1.contains("已答复"))

            let nurse = try await WebArchiveAndChartTests.logIn(client, "nurse")
            #expect(try await client.execute(uri: "/consultations", method: .get, headers: [.cookie: nurse]) { $0.status } == .forbidden)
        }
    }
}
