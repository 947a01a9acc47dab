import CRMDomain
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import NIOCore
import Replica
import TestSupport
import Testing

@testable import NodeHTTP
@testable import NodeRuntime

/// The bedside form that outlives the tablet's link (service worker, answers sent again with their
/// capture time) and the department kiosk (enrolled with a kiosk credential, anonymous, throttled).
@Suite("Web UI: the offline bedside form and the kiosk")
struct KioskAndBedsideTests {
    static let general = SurveyDefinition(questions: [
        .init(id: "overall", text: "总体满意度", type: .scale5, required: true, role: .overall)
    ])

    static func organisation(_ crm: CRM) async throws {
        try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-CARD", name: "心内科"))
        try await crm.organisation.saveReference(.system, .ward, ReferenceItem(id: "W-CARD", name: "心内一病区", departmentId: "D-CARD"))
        _ = try await crm.surveys.saveTemplate(.system, id: "bedside", name: "床边", purpose: "bedside", diseaseCode: nil, definition: general)
    }

    static func responses(_ runtime: NodeRuntime) throws -> [Row] {
        try runtime.crm.replica.reader.read { db in try Row.fetchAll(db, sql: "SELECT * FROM surveyResponse ORDER BY id") }
    }

    @Test func answersSentAgainLaterKeepTheirCaptureTimeAndAreRecordedOnce() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            try await Self.organisation(crm)
            let patient = try await crm.patients.create(.system, PatientInput(name: "床边人", phone: "13800138801"))
            let stay = try await crm.encounters.record(
                .system, EncounterInput(patientId: patient, kind: "inpatient", departmentId: "D-CARD", wardId: "W-CARD", admittedAt: crm.currentTimestamp()))
            let cookie = try await WebArchiveAndChartTests.logIn(client, "nurse")
            let form = try await SMSPageTests.page(client, "/ward/survey/\(stay)", cookie).1
            #expect(form.contains("<form method=\"post\" action=\"/ward/survey/\(stay)\" id=\"survey\" data-offline>") && form.contains("id=\"offline-status\""))
            #expect(form.contains("id=\"tablet-queue\""), "the header counts what waits on the tablet")
            let twoHoursAgo = Date().addingTimeInterval(-7200)
            let captured = ISO8601DateFormatter().string(from: twoHoursAgo)
            let body = "responseId=01JOFFLINE0000000000000001&templateId=bedside&templateVersion=1&q_overall=5&capturedAt=\(captured)"
            let first = try await SMSPageTests.post(client, "/ward/survey/\(stay)", body, cookie)
            #expect(first.0 == .seeOther && first.1 == "/ward?saved=1")
            // The tablet did not see the answer (its link broke): it sends the same again, and that is accepted too.
            let again = try await SMSPageTests.post(client, "/ward/survey/\(stay)", body, cookie)
            #expect(again.0 == .seeOther && again.1 == "/ward?saved=1")
            let stored = try Self.responses(runtime)
            #expect(stored.count == 1)
            #expect((stored.first?["submittedAt"] as String?) == crm.time.timestamp(twoHoursAgo), "the time the answers were given")
            // A capture time that cannot be right (two months ago) gives way to the time it arrives.
            let old = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-60 * 86_400))
            _ = try await SMSPageTests.post(
                client, "/ward/survey/\(stay)", "responseId=01JOFFLINE0000000000000002&templateId=bedside&templateVersion=1&q_overall=4&capturedAt=\(old)",
                cookie)
            let late = try #require(try Self.responses(runtime).first { ($0["id"] as String).hasPrefix("01JOFFLINE0000000000000002") })
            #expect(((late["submittedAt"] as String?) ?? "") > crm.time.timestamp(Date().addingTimeInterval(-120)))
            let worker = try await client.execute(uri: "/sw.js", method: .get) { ($0.headers[.contentType], String(buffer: $0.body)) }
            #expect(worker.0 == "text/javascript; charset=utf-8" && worker.1.contains("cache.match(key)") && worker.1.contains("SESSION_MS"))
        }
    }

    @Test func aKioskIsEnrolledOnceAndRecordsAnonymousAnswersForItsDepartment() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            try await Self.organisation(crm)
            _ = try await crm.surveys.saveTemplate(.system, id: "visit", name: "门诊满意度", purpose: "outpatient", diseaseCode: nil, definition: Self.general)
            let kioskToken = try runtime.machines.create(name: "kiosk-card", scopes: [.kiosk])
            let phoneToken = try runtime.machines.create(name: "pbx", scopes: [.screenPop])
            let wideToken = try runtime.machines.create(name: "kiosk-and-fhir", scopes: [.kiosk, .fhir])
            func form(_ body: String, cookie: String? = nil) -> (HTTPFields, ByteBuffer) {
                var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
                if let cookie { headers[.cookie] = cookie }
                return (headers, ByteBuffer(string: body))
            }
            func post(_ uri: String, _ body: String, cookie: String? = nil) async throws -> (HTTPResponse.Status, HTTPFields, String) {
                let (headers, buffer) = form(body, cookie: cookie)
                return try await client.execute(uri: uri, method: .post, headers: headers, body: buffer) { ($0.status, $0.headers, String(buffer: $0.body)) }
            }
            #expect(try await client.execute(uri: "/kiosk/D-CARD", method: .get) { $0.headers[.location] } == "/kiosk", "not enrolled: the enrol page")
            #expect(try await post("/kiosk", "token=sfm_nonsense&departmentId=D-CARD").0 == .unauthorized)
            #expect(try await post("/kiosk", "token=\(phoneToken)&departmentId=D-CARD").0 == .unauthorized, "another scope does not open a kiosk")
            #expect(try await post("/kiosk", "token=\(kioskToken)&departmentId=D-NOPE").0 == .unauthorized)
            #expect(try await post("/kiosk", "token=\(wideToken)&departmentId=D-CARD").0 == .unauthorized, "a credential that opens more is not left on a public screen")
            let enrolled = try await post("/kiosk", "token=\(kioskToken)&departmentId=D-CARD")
            #expect(enrolled.0 == .seeOther && enrolled.1[.location] == "/kiosk/D-CARD")
            let setCookie = try #require(enrolled.1[.setCookie])
            #expect(setCookie.contains("Path=/kiosk") && setCookie.contains("HttpOnly") && setCookie.contains("Secure"))
            let cookie = try #require(setCookie.split(separator: ";").first.map(String.init))

            let page = try await client.execute(uri: "/kiosk/D-CARD", method: .get, headers: [.cookie: cookie]) { ($0.status, String(buffer: $0.body)) }
            #expect(page.0 == .ok && page.1.contains("class=\"bare kiosk\"") && page.1.contains("心内科") && !page.1.contains("<nav"))
            #expect(page.1.contains("action=\"/kiosk/D-CARD\""))
            // Enrolled for cardiology: it neither shows nor records another department's survey.
            #expect(try await client.execute(uri: "/kiosk/D-ORTH", method: .get, headers: [.cookie: cookie]) { $0.headers[.location] } == "/kiosk/D-CARD")
            #expect(try await post("/kiosk/D-ORTH", "responseId=01JKIOSK00000000000000099&templateVersion=1&q_overall=4", cookie: cookie).0 == .seeOther)
            #expect(try await client.execute(uri: "/api/me", method: .get, headers: [.cookie: cookie]) { $0.status } == .unauthorized, "a kiosk is no session")
            #expect(try await client.execute(uri: "/ward", method: .get, headers: [.cookie: cookie]) { $0.headers[.location] } == "/login")

            let answered = try await post("/kiosk/D-CARD", "responseId=01JKIOSK00000000000000001&templateVersion=1&q_overall=4", cookie: cookie)
            #expect(answered.0 == .ok && answered.2.contains("url=/kiosk/D-CARD"), "thanks, then back to a fresh form")
            let row = try #require(try Self.responses(runtime).first)
            #expect((row["mode"] as String) == "kiosk" && (row["patientId"] as String) == CRM.Surveys.anonymousPatientID)
            #expect((row["departmentId"] as String?) == "D-CARD" && (row["staffId"] as String?) == "kiosk:kiosk-card" && (row["templateId"] as String) == "visit")
            #expect(try await post("/kiosk/D-CARD", "responseId=01JKIOSK00000000000000001&templateVersion=1&q_overall=4", cookie: cookie).0 == .ok)
            #expect(try Self.responses(runtime).count == 1, "a double tap is one answer")
            let refused = try await post("/kiosk/D-CARD", "responseId=01JKIOSK00000000000000002&templateVersion=1&q_overall=9", cookie: cookie)
            #expect(refused.0 == .ok && refused.2.contains("class=\"error\""))
            // An unattended screen cannot flood the archive.
            var statuses: [HTTPResponse.Status] = []
            for index in 3..<10 {
                statuses.append(try await post("/kiosk/D-CARD", "responseId=01JKIOSK0000000000000000\(index)&templateVersion=1&q_overall=5", cookie: cookie).0)
            }
            #expect(statuses.contains(.tooManyRequests))
            #expect(try Self.responses(runtime).count <= KioskThrottle.perMinute)
            // Revoked: the screen goes back to the enrol page.
            try runtime.machines.revoke(name: "kiosk-card")
            #expect(try await client.execute(uri: "/kiosk/D-CARD", method: .get, headers: [.cookie: cookie]) { $0.headers[.location] } == "/kiosk")
            #expect(try await post("/kiosk/D-CARD", "responseId=01JKIOSK00000000000000011&templateVersion=1&q_overall=5", cookie: cookie).0 == .seeOther)
        }
    }

    @Test func theThrottleForgetsAfterAMinute() {
        let throttle = KioskThrottle()
        let start = Date()
        for _ in 0..<KioskThrottle.perMinute { #expect(throttle.admit("k", now: start)) }
        #expect(!throttle.admit("k", now: start.addingTimeInterval(30)))
        #expect(throttle.admit("other", now: start.addingTimeInterval(30)))
        #expect(throttle.admit("k", now: start.addingTimeInterval(61)))
    }
}
