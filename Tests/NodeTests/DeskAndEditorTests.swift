import CRMDomain
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import NodeHTTP
@testable import NodeRuntime

/// The desk and the template editor as their users work with them (issue 15's three bugs).
@Suite("Web UI: the desk and the template editor")
struct DeskAndEditorTests {
    static func form(_ body: String, _ cookie: String) -> (HTTPFields, ByteBuffer) {
        ([.cookie: cookie, .contentType: "application/x-www-form-urlencoded"], ByteBuffer(string: WebArchiveAndChartTests.withToken(body, cookie)))
    }

    @Test func bedsideVisitsNeverPushAPhoneTaskOffTheDesk() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-CARD", name: "心内科"))
            try await crm.organisation.saveReference(.system, .ward, ReferenceItem(id: "W-CARD", name: "心内一病区", departmentId: "D-CARD"))
            // More open bedside visits than the desk ever loaded at once, all due before the call.
            let yesterday = try #require(crm.time.day(crm.today(), plus: -1))
            let admitted = yesterday + "T09:00:00+08:00"
            for index in 0..<(WebUI.deskPageSize * 3 + 10) {
                let patient = try await crm.patients.create(.system, PatientInput(name: "床旁\(index)"))
                _ = try await crm.encounters.record(
                    .system, EncounterInput(patientId: patient, kind: "inpatient", departmentId: "D-CARD", wardId: "W-CARD", admittedAt: admitted))
            }
            let caller = try await crm.patients.create(.system, PatientInput(name: "电话随访", phone: "13800138123"))
            let call = try await crm.followUps.createTask(.system, patientId: caller, dueDate: crm.today(), note: nil, templateId: nil)
            let cookie = try await WebArchiveAndChartTests.logIn(client, "agent")
            let desk = try await client.execute(uri: "/desk", method: .get, headers: [.cookie: cookie]) { String(buffer: $0.body) }
            #expect(desk.contains("id=\"task-\(call)\""), "the phone task is on the desk's first page")
            #expect(!desk.contains(">\(Strings(language: .zh)["bedside24h"])<"), "no bedside visit on the desk")
            #expect(!desk.contains("id=\"desk-next\""), "one page holds the only phone task")

            // A queue longer than a page: the agent pages on, and claiming a task keeps the page.
            var calls: [String] = []
            for index in 0..<(WebUI.deskPageSize + 5) {
                calls.append(try await crm.followUps.createTask(.system, patientId: caller, dueDate: yesterday, note: "第\(index)通", templateId: nil))
            }
            let first = try await client.execute(uri: "/desk", method: .get, headers: [.cookie: cookie]) { String(buffer: $0.body) }
            let next = try #require(first.firstRange(of: "/desk?after=").map { String(first[$0.lowerBound...].prefix(while: { $0 != "\"" })) })
            let second = try await client.execute(uri: next.replacingOccurrences(of: "&amp;", with: "&"), method: .get, headers: [.cookie: cookie]) {
                String(buffer: $0.body)
            }
            let onSecond = try #require(calls.first { second.contains("id=\"task-\($0)\"") && !first.contains("id=\"task-\($0)\"") })
            let after = try #require(second.firstRange(of: "name=\"after\" value=\"").map { String(second[$0.upperBound...].prefix(while: { $0 != "\"" })) })
            let (headers, body) = Self.form("after=\(after)", cookie)
            let claimed = try await client.execute(uri: "/desk/tasks/\(onSecond)/claim", method: .post, headers: headers, body: body) { $0.headers[.location] }
            #expect(claimed?.hasPrefix("/desk?after=") == true && claimed?.hasSuffix("#task-\(onSecond)") == true, "\(claimed ?? "")")
        }
    }

    @Test func noAnswerOnTheDeskBringsTheTaskBackOnTheDayGivenAndCoverageDoesNotCountIt() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            let patient = try await crm.patients.create(.system, PatientInput(name: "未接听", phone: "13800138124"))
            let first = try await crm.followUps.createTask(.system, patientId: patient, dueDate: crm.today(), note: nil, templateId: nil)
            let second = try await crm.followUps.createTask(.system, patientId: patient, dueDate: crm.today(), note: nil, templateId: nil)
            let cookie = try await WebArchiveAndChartTests.logIn(client, "agent")
            for task in [first, second] {
                let (headers, body) = Self.form("", cookie)
                #expect(try await client.execute(uri: "/desk/tasks/\(task)/claim", method: .post, headers: headers, body: body) { $0.status } == .seeOther)
            }
            // The claimed task's form offers tomorrow as the day to call again.
            let tomorrow = try #require(crm.time.day(crm.today(), plus: 1))
            let desk = try await client.execute(uri: "/desk", method: .get, headers: [.cookie: cookie]) { String(buffer: $0.body) }
            #expect(desk.contains("name=\"retryOn\" value=\"\(tomorrow)\""), "\(desk)")
            // Sent as the form stands: the task stays open, due tomorrow.
            var (headers, body) = Self.form("outcome=noAnswer&note=&nextAction=&retryOn=\(tomorrow)", cookie)
            #expect(try await client.execute(uri: "/desk/tasks/\(first)/record", method: .post, headers: headers, body: body) { $0.status } == .seeOther)
            let retried = try await crm.followUps.task(first)
            #expect(retried.doneAt == nil && retried.dueDate == tomorrow && retried.attempts == 1)
            // The day cleared: the task closes as not reached, and coverage does not count it as followed up.
            (headers, body) = Self.form("outcome=noAnswer&note=&nextAction=&retryOn=", cookie)
            #expect(try await client.execute(uri: "/desk/tasks/\(second)/record", method: .post, headers: headers, body: body) { $0.status } == .seeOther)
            #expect(try await crm.followUps.task(second).doneAt != nil)
            let coverage = try await crm.statistics.coverage(Caller(userId: "manager", role: .manager), range: DayRange(from: crm.today(), to: tomorrow))
            #expect(coverage.first { $0.kind == "oneOff" }.map { [$0.due, $0.done] } == [2, 0])
        }
    }

    @Test func savingAPerDiseaseTemplateInTheEditorKeepsItsDiseaseCode() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            let definition = SurveyDefinition(questions: [
                .init(id: "overall", text: "总体满意度", type: .scale5, options: nil, required: true, showIf: nil, role: .overall, maxLength: nil)
            ])
            _ = try await crm.surveys.saveTemplate(.system, id: "acs", name: "急性冠脉综合征随访", purpose: "discharge", diseaseCode: "I21", definition: definition)
            let cookie = try await WebArchiveAndChartTests.logIn(client, "manager")
            let page = try await client.execute(uri: "/templates/acs", method: .get, headers: [.cookie: cookie]) { String(buffer: $0.body) }
            #expect(page.contains("name=\"diseaseCode\" value=\"I21\""), "\(page)")
            // The manager saves a new version as the page's form stands.
            let fields = "id=acs&name=急性冠脉综合征随访&purpose=discharge&diseaseCode=I21&count=1&q0_id=overall&q0_text=总体满意度&q0_type=scale5&q0_role=overall&q0_required=1&action=save"
            let (headers, body) = Self.form(fields, cookie)
            #expect(try await client.execute(uri: "/templates", method: .post, headers: headers, body: body) { $0.status } == .seeOther)
            let saved = try await crm.surveys.template("acs")
            #expect(saved.currentVersion == 2)
            #expect(saved.diseaseCode == "I21", "still the template for I21, not the general one")
            // A code that is not one is refused on the form, not stored.
            let (badHeaders, badBody) = Self.form(fields.replacingOccurrences(of: "diseaseCode=I21", with: "diseaseCode=I21%0A"), cookie)
            let refused = try await client.execute(uri: "/templates", method: .post, headers: badHeaders, body: badBody) { ($0.status, String(buffer: $0.body)) }
            #expect(refused.0 == .ok && refused.1.contains("ICD-10"))
            #expect(try await crm.surveys.template("acs").currentVersion == 2)
        }
    }
}
