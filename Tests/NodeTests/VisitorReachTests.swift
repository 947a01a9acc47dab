import CRMDomain
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Replica
import TestSupport
import Testing

@testable import NodeHTTP
@testable import NodeRuntime

@Suite("Roles scoped to wards: a bedside visitor reaches only its ward's patients")
struct VisitorReachTests {
    /// Every route of the API and the web UI, called by a bedside visitor of W-CARD with the ids of
    /// another ward's patient, encounter, task, response and complaint (in the path and in JSON and
    /// form bodies): no answer shows that patient's name, phone or ID number, and nothing of theirs
    /// is written. The visitor's own patient is reachable, with the ID number and phone masked.
    @Test func noRouteLetsAVisitorReadOrWriteAnotherWardsPatient() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            let manager = Caller(userId: "manager", role: .manager)
            try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-CARD", name: "心内科"))
            for ward in ["W-CARD", "W-OTHER"] {
                try await crm.organisation.saveReference(.system, .ward, ReferenceItem(id: ward, name: ward, departmentId: "D-CARD"))
            }
            _ = try await crm.surveys.saveTemplate(.system, id: "bedside", name: "床边探访", purpose: "bedside", diseaseCode: nil, definition: bedsideTemplate)
            let secrets = ["外病区秘密", "13987654321", "350102198801019999"]
            let theirs = try await crm.patients.create(.system, PatientInput(name: secrets[0], idNumber: secrets[2], phone: secrets[1]))
            let mine = try await crm.patients.create(.system, PatientInput(name: "本病区患者", idNumber: "350102197001011234", phone: "13800001111"))
            let encounter = try await crm.encounters.record(
                .system, EncounterInput(patientId: theirs, kind: "inpatient", departmentId: "D-CARD", wardId: "W-OTHER", admittedAt: "2026-11-23T08:00:00+08:00"))
            _ = try await crm.encounters.record(
                .system, EncounterInput(patientId: mine, kind: "inpatient", departmentId: "D-CARD", wardId: "W-CARD", admittedAt: "2026-11-23T08:00:00+08:00"))
            let task = try #require(try await crm.encounters.wardPatients(.system, wardId: "W-OTHER").first?.bedsideTaskId)
            let response = try await crm.surveys.submit(
                manager,
                SurveySubmission(
                    id: "01JREACHRESPONSE00000001", templateId: "bedside", templateVersion: 1, patientId: theirs, wardId: "W-OTHER", mode: .bedside,
                    submittedAt: "2026-11-23T09:00:00+08:00", answers: ["overall": .number(5), "nps": .number(9)])
            ).id
            let complaint = try await crm.complaints.register(manager, ComplaintInput(patientId: theirs, summary: "投诉内容"))
            let theirRows = {
                try await runtime.replica.reader.read { db in
                    var lines: [String] = []
                    for table in [
                        "patient", "encounter", "encounterEvent", "followUpTask", "followUpRecord", "surveyResponse", "opinion", "complaint", "consultation", "appointment",
                    ] {
                        let column = table == "patient" ? "id" : "patientId"
                        lines += try Row.fetchAll(db, sql: "SELECT * FROM \(table) WHERE \(column) = ?", arguments: [theirs]).map { "\(table) \($0)" }
                    }
                    return lines
                }
            }
            let before = try await theirRows()

            let nurse = try await APIClient(client: client).logIn("nurse", "password-nurse")
            let cookie = try await WebArchiveAndChartTests.logIn(client, "nurse")
            let fields: [(String, String)] = [
                ("patientId", theirs), ("wardId", "W-CARD"), ("toWardId", "W-CARD"), ("kind", "inpatient"), ("admittedAt", "2026-11-24T08:00:00+08:00"),
                ("at", "2026-11-24T08:00:00+08:00"), ("status", "cured"), ("templateId", "bedside"), ("mode", "bedside"),
                ("submittedAt", "2026-11-24T09:00:00+08:00"), ("id", "01JREACHATTACK0000000001"), ("summary", "x"), ("topic", "t"), ("content", "c"),
                ("outcome", "reached"), ("name", "改名"), ("phone", "13900000000"), ("text", "意见"), ("responseId", response), ("taskId", task),
            ]
            let json =
                "{" + fields.map { "\"\($0.0)\":\"\($0.1)\"" }.joined(separator: ",")
                + #","templateVersion":1,"answers":{"overall":1,"nps":0},"overall":1,"nps":0}"#
            let form = fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&") + "&overall=1&nps=0"
            let routes = buildRouter(runtime: runtime, configuration: try NodeDirectory(FileManager.default.temporaryDirectory.path).configurationOrDefault())
                .routes.map { (method: $0.method, path: "\($0.path)") }
            var requests = 0
            for route in routes where route.path != "/desk/events" && route.path != "/api/logout" && route.path != "/logout" {
                for id in [theirs, encounter, task, response, complaint] {
                    let path = route.path.replacingOccurrences(of: "{id}", with: id).replacingOccurrences(of: "{encounter}", with: id)
                        .replacingOccurrences(of: "{kind}", with: "ward").replacingOccurrences(of: "{dataset}", with: "patients")
                        .replacingOccurrences(of: "{key}", with: "scopeDays").replacingOccurrences(of: "{day}", with: "2026-11-24")
                        .replacingOccurrences(of: "{node}", with: "0000000000000009").replacingOccurrences(of: "{chart}", with: "satisfaction.csv")
                    let query = "?q=\(secrets[0].addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)&phone=\(secrets[1])&wardId=W-OTHER&ward=W-OTHER"
                    let api = try await nurse.call(route.method, path + query, json: route.method == .get ? nil : json)
                    let web = try await client.execute(
                        uri: path + query, method: route.method,
                        headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                        body: route.method == .get ? nil : ByteBuffer(string: WebArchiveAndChartTests.withToken(form, cookie))
                    ) { String(buffer: $0.body) }
                    requests += 2
                    #expect(api.status.code < 500, "\(route.method) \(path): \(api.status)")
                    for secret in secrets {
                        #expect(!api.text.contains(secret), "\(route.method) \(route.path) showed a visitor another ward's patient (API)")
                        #expect(!web.contains(secret), "\(route.method) \(route.path) showed a visitor another ward's patient (web)")
                    }
                }
            }
            #expect(requests > 400)
            #expect(try await theirRows() == before, "a visitor wrote to another ward's patient")

            // The visitor's own patient: reachable, with what the ward's work does not need masked.
            let own = try await nurse.call(.get, "/api/patients/\(mine)")
            #expect(own.status == .ok && own.text.contains("本病区患者"))
            #expect(!own.text.contains("350102197001011234") && own.text.contains("3501**********1234"))
            #expect(!own.text.contains("13800001111") && own.text.contains("138****1111"))
            // Its own patient's survey cannot close another ward's task.
            let forged =
                #"{"id":"01JREACHFORGEDTASK000001","templateId":"bedside","templateVersion":1,"patientId":"\#(mine)","wardId":"W-CARD","mode":"bedside","taskId":"\#(task)","submittedAt":"2026-11-23T09:00:00+08:00","answers":{"overall":5,"nps":9}}"#
            #expect(try await nurse.call(.post, "/api/responses", json: forged).status == .notFound)
            #expect(try await crm.followUps.task(task).doneAt == nil)
            // Accounts: every visitor belongs to a ward, and only visitors do (a ward gateway holds its wards' password hashes).
            await #expect(throws: CRMError.self) { try await crm.accounts.saveUser(.system, username: "nowhere", displayName: "x", role: .visitor, password: "password-x") }
            await #expect(throws: CRMError.self) {
                try await crm.accounts.saveUser(.system, username: "boss", displayName: "x", role: .manager, password: "password-x", wardId: "W-CARD")
            }
            let list = try await nurse.call(.get, "/api/wards/W-CARD/patients")
            #expect(list.status == .ok && list.text.contains("本病区患者") && !list.text.contains("350102197001011234") && !list.text.contains("13800001111"))
        }
    }
}
