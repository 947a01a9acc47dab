import ArgumentParser
import CRMDomain
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import Replica
import Sodium
import TestSupport
import Testing

@testable import Benchmarks
@testable import NodeHTTP
@testable import NodeRuntime
@testable import Testnets

/// Drives the HTTP API the way a client does: JSON in, JSON out, a bearer token per user.
struct APIClient {
    let client: any TestClientProtocol
    var token: String?

    struct Answer {
        var status: HTTPResponse.Status
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONDecoder().decode(type, from: body) }
        var error: ErrorBody? { try? decode(ErrorBody.self) }
    }

    @discardableResult
    func call(_ method: HTTPRequest.Method, _ uri: String, json: String? = nil, raw: ByteBuffer? = nil) async throws -> Answer {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if json != nil { headers[.contentType] = "application/json" }
        let body = raw ?? json.map { ByteBuffer(string: $0) }
        return try await client.execute(uri: uri, method: method, headers: headers, body: body) { response in
            Answer(status: response.status, body: Data(buffer: response.body))
        }
    }

    func encode(_ value: some Encodable) throws -> String { String(decoding: try JSONEncoder().encode(value), as: UTF8.self) }

    func logIn(_ username: String, _ password: String) async throws -> APIClient {
        let answer = try await call(.post, "/api/login", json: #"{"username":"\#(username)","password":"\#(password)"}"#)
        #expect(answer.status == .ok, "login \(username): \(answer.text)")
        var copy = self
        copy.token = try answer.decode(Session.self).token
        return copy
    }
}

@Suite("HTTP API end to end")
struct APITests {
    /// A central node with accounts of every role.
    static func withNode(_ body: @escaping @Sendable (NodeRuntime, any TestClientProtocol) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("api-tests-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("central").path
        try NodeDirectory(path).createCentral(name: "central", NodeSetup(listen: "127.0.0.1:7400", policies: PolicyDirectory(NodeNetworkTests.policies)))
        let (_, configuration, runtime) = try NodeRuntime.open(directory: path, logger: quietLogger, passwordStrength: .minimum)
        for (name, role, ward) in [
            ("admin", Role.admin, nil), ("manager", .manager, nil), ("agent", .agent, nil), ("agent2", .agent, nil),
            ("nurse", .visitor, "W-CARD" as String?),
        ] {
            try await runtime.crm.accounts.saveUser(.system, username: name, displayName: name, role: role, password: "password-\(name)", wardId: ward)
        }
        let app = Application(router: buildRouter(runtime: runtime, configuration: configuration))
        try await app.test(.router) { client in try await body(runtime, client) }
    }

    @Test func badRequestsGetClearErrorsThatNeverEchoPatientData() async throws {
        try await Self.withNode { _, client in
            let anonymous = APIClient(client: client)
            var answer = try await anonymous.call(.get, "/api/patients")
            #expect(answer.status == .unauthorized && answer.error?.error.message == "log in first")
            answer = try await anonymous.call(.post, "/api/login", json: #"{"username":"agent","password":"nope-nope"}"#)
            #expect(answer.status == .unauthorized)
            let agent = try await anonymous.logIn("agent", "password-agent")
            answer = try await agent.call(.post, "/api/patients", json: "{not json")
            #expect(answer.status == .badRequest && answer.error?.error.message == "request body: not valid JSON")
            answer = try await agent.call(.post, "/api/patients", json: #"{"name":"秘密患者","gender":"robot","phone":"13800000000"}"#)
            #expect(answer.status == .badRequest && answer.error?.error.message == "gender must be male, female or unknown")
            answer = try await agent.call(.post, "/api/patients", json: #"{"name":"秘密患者","phone":"电话13800000000"}"#)
            #expect(answer.status == .unprocessableContent && !answer.text.contains("秘密") && !answer.text.contains("13800000000"))
            answer = try await agent.call(.post, "/api/patients", json: #"{"name":12}"#)
            #expect(answer.status == .badRequest && answer.error?.error.message == "request body: name should be a string")
            answer = try await agent.call(.post, "/api/responses", json: #"{"id":"x"}"#)
            #expect(answer.status == .badRequest && answer.error?.error.message.hasPrefix("request body: ") == true)
            answer = try await agent.call(.get, "/api/patients?limit=0")
            #expect(answer.status == .badRequest && answer.error?.error.message == "limit must be between 1 and 500")
            answer = try await agent.call(.get, "/api/patients/01NOSUCHPATIENT")
            #expect(answer.status == .notFound && answer.error?.error.message == "no patient with id '01NOSUCHPATIENT'")
            answer = try await agent.call(.post, "/api/merges", json: #"{"survivorId":"a","mergedId":"b"}"#)
            #expect(answer.status == .forbidden)
            answer = try await agent.call(.post, "/api/patients", json: String(repeating: "a", count: 2 << 20))
            #expect(answer.status == .contentTooLarge)
            answer = try await agent.call(.get, "/api/nothing-here")
            #expect(answer.status == .notFound && answer.error != nil)
            answer = try await agent.call(.get, "/api/stats/nps?from=2026-01-01&to=2026-12-31")
            #expect(answer.status == .forbidden)
            answer = try await agent.call(.get, "/api/callerid?phone=%2B86%20abc")
            #expect(answer.status == .unprocessableContent && answer.error?.error.message == "not a phone number")
        }
    }

    @Test func everyRoleDoesItsWorkThroughTheAPI() async throws {
        try await Self.withNode { runtime, client in
            let anonymous = APIClient(client: client)
            let admin = try await anonymous.logIn("admin", "password-admin")
            let manager = try await anonymous.logIn("manager", "password-manager")
            let agent = try await anonymous.logIn("agent", "password-agent")
            let agent2 = try await anonymous.logIn("agent2", "password-agent2")
            let nurse = try await anonymous.logIn("nurse", "password-nurse")
            #expect(try await nurse.call(.get, "/api/me").decode(Caller.self) == Caller(userId: "nurse", role: .visitor, wardId: "W-CARD"))

            // Administration.
            #expect(try await admin.call(.put, "/api/reference/department/D-CARD", json: #"{"id":"","name":"心内科"}"#).status == .ok)
            #expect(try await admin.call(.put, "/api/reference/ward/W-CARD", json: #"{"id":"","name":"心内一病区","departmentId":"D-CARD"}"#).status == .ok)
            #expect(try await admin.call(.put, "/api/reference/ward/W-X", json: #"{"id":"","name":"x","departmentId":"D-NONE"}"#).status == .notFound)
            #expect(try await admin.call(.get, "/api/reference/department").decode([ReferenceItem].self).map(\.id) == ["D-CARD"])
            #expect(try await nurse.call(.put, "/api/reference/department/D-X", json: #"{"id":"","name":"x"}"#).status == .forbidden)
            #expect(try await admin.call(.put, "/api/settings/smsDailyCap", json: #"{"value":"5"}"#).status == .ok)

            // Manager: template and a rule.
            let template = try agent.encode(["name": "入院床边探访", "definition": "DEF"]).replacingOccurrences(of: "\"DEF\"", with: try agent.encode(bedsideTemplate))
            #expect(try await manager.call(.put, "/api/templates/bedside", json: template).status == .ok)
            let rule = #"{"name":"出院随访","kind":"fixed-offset","triggerEvent":"discharge","offsets":[1,7],"filter":{"departments":["D-CARD"]},"active":true}"#
            #expect(try await manager.call(.post, "/api/rules", json: rule).status == .created)

            // Agent registers a patient; the nurse admits them and does the bedside survey.
            let patient = try await agent.call(.post, "/api/patients", json: #"{"name":"王芳","gender":"female","birthDate":"1960-05-01","phone":"+86 138-0013-8000"}"#)
                .decode(CreatedID.self).id
            let admission = try await nurse.call(
                .post, "/api/encounters",
                json: #"{"patientId":"\#(patient)","kind":"inpatient","departmentId":"D-CARD","wardId":"W-CARD","admittedAt":"2026-11-23T08:00:00+08:00"}"#)
            #expect(admission.status == .created)
            let encounter = try admission.decode(CreatedID.self).id
            let ward = try await nurse.call(.get, "/api/wards/W-CARD/patients").decode([WardPatient].self)
            #expect(ward.count == 1 && ward[0].bedsideVisitDue)
            let response =
                #"{"id":"01JAPIRESPONSE0000000001","templateId":"bedside","templateVersion":1,"patientId":"\#(patient)","wardId":"W-CARD","departmentId":"D-CARD","mode":"bedside","taskId":"\#(ward[0].bedsideTaskId!)","submittedAt":"2026-11-23T09:00:00+08:00","answers":{"overall":5,"nps":10},"opinions":[{"kind":"praise","text":"护士很好","departmentId":"D-CARD"}]}"#
            #expect(try await nurse.call(.post, "/api/responses", json: response).status == .created)
            #expect(try await nurse.call(.post, "/api/responses", json: response).decode(SubmissionReceipt.self).created == false)
            #expect(try await nurse.call(.post, "/api/responses", json: response.replacingOccurrences(of: #""overall":5"#, with: #""overall":4"#)).status == .conflict)
            #expect(try await nurse.call(.get, "/api/wards/W-CARD/patients").decode([WardPatient].self)[0].bedsideVisitDue == false)

            // Discharge: the agent's queue gets the 72-hour call; two agents claim it.
            #expect(try await nurse.call(.post, "/api/encounters/\(encounter)/discharge", json: #"{"at":"2026-11-23T10:00:00+08:00","status":"improved"}"#).status == .ok)
            let queue = try await agent.call(.get, "/api/tasks?day=2026-11-24&kind=discharge72h").decode(Page<QueueEntry>.self)
            #expect(queue.items.count == 1 && queue.items[0].patient?.phone == "13800138000")
            let task = queue.items[0].task.id
            #expect(try await agent.call(.post, "/api/tasks/\(task)/claim").status == .ok)
            let lost = try await agent2.call(.post, "/api/tasks/\(task)/claim")
            #expect(lost.status == .conflict && lost.error?.error.message == "task '\(task)' is already claimed by 'agent'")
            #expect(try await agent.call(.post, "/api/tasks/\(task)/record", json: #"{"outcome":"reached","note":"恢复良好"}"#).status == .created)

            // Call center: screen-pop lookup, consultation, complaint.
            let lookup = try await agent.call(.get, "/api/callerid?phone=%2B86%20138%200013%208000").decode(CallerLookup.self)
            #expect(lookup.patients.map(\.id) == [patient])
            #expect(try await agent.call(.post, "/api/consultations", json: #"{"patientId":"\#(patient)","topic":"复查","content":"何时复查"}"#).status == .created)
            let complaint = try await agent.call(.post, "/api/complaints", json: #"{"patientId":"\#(patient)","departmentId":"D-CARD","summary":"等候太久","channel":"phone"}"#)
                .decode(CreatedID.self).id
            #expect(try await manager.call(.post, "/api/complaints/\(complaint)/advance", json: #"{"status":"accepted","note":"已受理"}"#).status == .ok)
            #expect(try await manager.call(.post, "/api/complaints/\(complaint)/advance", json: #"{"status":"registered","note":"x"}"#).status == .conflict)
            #expect(try await manager.call(.get, "/api/complaints?status=accepted").decode(Page<Complaint>.self).items.map(\.id) == [complaint])

            // SMS and statistics.
            #expect(try await manager.call(.post, "/api/sms/audience-count", json: #"{"departments":["D-CARD"]}"#).text == #"{"count":1}"#)
            #expect(try await agent.call(.post, "/api/sms/send", json: #"{"patientId":"\#(patient)","body":"{name}您好"}"#).status == .created)
            let nps = try await manager.call(.get, "/api/stats/nps?from=2026-11-01&to=2026-11-30&period=month").decode([NPSRow].self)
            #expect(nps.map(\.nps) == [100] && nps[0].wardId == "W-CARD" && nps[0].mode == "bedside")
            let satisfaction = try await manager.call(.get, "/api/stats/satisfaction?from=2026-11-01&to=2026-11-30").decode([SatisfactionRow].self)
            #expect(satisfaction.map(\.satisfied) == [1])
            #expect(try await manager.call(.get, "/api/stats/nps?from=2026-11-01").status == .badRequest)

            // The archive shows it all.
            let archive = try await agent.call(.get, "/api/patients/\(patient)").decode(PatientArchive.self)
            #expect(
                archive.encounters.count == 1 && archive.surveyResponses.count == 1 && archive.complaints.count == 1
                    && archive.consultations.count == 1 && archive.sms.count == 1 && archive.followUpRecords.count == 2)

            // Import with a broken line: 422 and the line numbers; export as CSV.
            let csv = "hisId,name,phone\nH1,甲,13900000001\nH2,乙,bad-phone\n"
            let imported = try await manager.call(.post, "/api/import/patients", raw: ByteBuffer(string: csv))
            #expect(imported.status == .unprocessableContent)
            let rejected = try imported.decode(ImportReport.self).rejected
            #expect(rejected.map(\.line) == [3] && rejected.map(\.reason) == ["phone is not a phone number"])
            let export = try await manager.call(.get, "/api/export/patients")
            #expect(export.status == .ok && export.text.hasPrefix("\u{FEFF}hisId,name,"), "exports carry a UTF-8 BOM for Excel and WPS")

            // A file from the HIS in GB18030/GBK: names arrive intact; bytes in no known encoding are refused.
            let gbk: [UInt8] = Array("hisId,name,phone\nH7,".utf8) + [0xD5, 0xC5, 0xC8, 0xFD] + Array(",13900000007\n".utf8)  // 张三
            let fromHIS = try await manager.call(.post, "/api/import/patients", raw: ByteBuffer(bytes: gbk))
            #expect(fromHIS.status == .ok, "\(fromHIS.text)")
            #expect(try await agent.call(.get, "/api/callerid?phone=13900000007").decode(CallerLookup.self).patients.map(\.name) == ["张三"])
            let garbled = try await manager.call(.post, "/api/import/patients", raw: ByteBuffer(bytes: Array("hisId,name\nH8,".utf8) + [0xFF, 0xFE, 0x80]))
            #expect(garbled.status == .badRequest && garbled.text.contains("neither UTF-8 nor GB18030"))
            #expect(try await agent.call(.get, "/api/export/patients").status == .forbidden)

            // Pagination through the patient list.
            for index in 0..<3 { _ = try await agent.call(.post, "/api/patients", json: #"{"name":"翻页\#(index)"}"#) }
            var seen: [String] = []
            var next: String? = nil
            repeat {
                let page = try await agent.call(.get, "/api/patients?limit=2" + (next.map { "&after=\($0)" } ?? "")).decode(Page<Patient>.self)
                seen += page.items.map(\.id)
                next = page.next
            } while next != nil
            #expect(seen.count == 5 && Set(seen).count == 5, "the first patient, the one from the HIS file and three more")

            // Logging out ends the session.
            #expect(try await agent.call(.post, "/api/logout").status == .ok)
            #expect(try await agent.call(.get, "/api/me").status == .unauthorized)
            _ = runtime
        }
    }
}

extension APITests {
    @Test func archivesEncountersSMSAndAdministrationThroughTheAPI() async throws {
        try await Self.withNode { runtime, client in
            let anonymous = APIClient(client: client)
            let admin = try await anonymous.logIn("admin", "password-admin")
            let manager = try await anonymous.logIn("manager", "password-manager")
            let agent = try await anonymous.logIn("agent", "password-agent")
            let nurse = try await anonymous.logIn("nurse", "password-nurse")
            for (kind, id, body) in [
                ("department", "D-CARD", #"{"id":"","name":"心内科"}"#), ("department", "D-ORTH", #"{"id":"","name":"骨科"}"#),
                ("ward", "W-CARD", #"{"id":"","name":"心内一病区","departmentId":"D-CARD"}"#),
                ("ward", "W-ORTH", #"{"id":"","name":"骨科病区","departmentId":"D-ORTH"}"#),
            ] {
                #expect(try await admin.call(.put, "/api/reference/\(kind)/\(id)", json: body).status == .ok)
            }
            #expect(try await admin.call(.post, "/api/users", json: #"{"username":"agent3","displayName":"坐席三","role":"agent","password":"password-agent3"}"#).status == .ok)
            #expect(try await admin.call(.get, "/api/users").decode([UserAccount].self).contains { $0.id == "agent3" })
            #expect(try await manager.call(.post, "/api/users", json: #"{"username":"x9","displayName":"x","role":"admin","password":"password-x9"}"#).status == .forbidden)
            #expect(try await admin.call(.put, "/api/calendar/2026-12-01", json: #"{"working":false,"name":"院庆"}"#).status == .ok)

            // Two archives of one person: duplicates, merge, undo.
            let first = try await agent.call(.post, "/api/patients", json: #"{"name":"林一","birthDate":"1955-02-03","phone":"13811112222"}"#).decode(CreatedID.self).id
            let second = try await agent.call(.post, "/api/patients", json: #"{"name":"林一","birthDate":"1955-02-03","phone":"138-1111-2222"}"#).decode(CreatedID.self).id
            let groups = try await manager.call(.get, "/api/patients/duplicates").decode([DuplicateCandidates].self)
            #expect(groups.map { Set($0.patientIds) } == [[first, second]])
            let merge = try await manager.call(.post, "/api/merges", json: #"{"survivorId":"\#(first)","mergedId":"\#(second)","reason":"同一人"}"#)
            #expect(merge.status == .created)
            #expect(try await agent.call(.get, "/api/patients/\(second)").decode(PatientArchive.self).patient.id == first)
            #expect(try await manager.call(.post, "/api/merges/\(try merge.decode(CreatedID.self).id)/undo").status == .ok)
            #expect(try await agent.call(.get, "/api/patients/\(second)").decode(PatientArchive.self).patient.id == second)
            #expect(try await agent.call(.patch, "/api/patients/\(first)", json: #"{"address":"鼓楼区五四路1号","tags":["高血压"]}"#).status == .ok)

            // Admission, transfer, discharge, cancelled discharge.
            let encounter = try await nurse.call(
                .post, "/api/encounters",
                json: #"{"patientId":"\#(first)","kind":"inpatient","departmentId":"D-CARD","wardId":"W-CARD","admittedAt":"2026-11-20T08:00:00+08:00","hisId":"ZY-9"}"#
            )
            .decode(CreatedID.self).id
            #expect(encounter == "his-ZY-9~W-CARD", "bound to the admission's ward")
            #expect(try await nurse.call(.post, "/api/encounters/\(encounter)/transfer", json: #"{"toWardId":"W-ORTH","toDepartmentId":"D-ORTH"}"#).status == .ok)
            #expect(try await nurse.call(.get, "/api/wards/W-CARD/patients").status == .ok)
            #expect(try await manager.call(.get, "/api/wards/W-ORTH/patients").decode([WardPatient].self).map(\.patient.id) == [first])
            // The patient is W-ORTH's now: the W-CARD visitor may no longer discharge them; W-ORTH's work is done by a manager here.
            #expect(try await nurse.call(.post, "/api/encounters/\(encounter)/discharge", json: #"{"at":"2026-11-22T10:00:00+08:00","status":"cured"}"#).status == .forbidden)
            #expect(try await manager.call(.post, "/api/encounters/\(encounter)/discharge", json: #"{"at":"2026-11-22T10:00:00+08:00","status":"cured"}"#).status == .ok)
            #expect(try await manager.call(.post, "/api/encounters/\(encounter)/discharge", json: #"{"at":"2026-11-22T10:00:00+08:00","status":"cured"}"#).status == .conflict)
            #expect(try await manager.call(.post, "/api/encounters/\(encounter)/cancel-discharge").status == .ok)
            let archive = try await agent.call(.get, "/api/patients/\(first)").decode(PatientArchive.self)
            #expect(archive.encounterEvents.map(\.kind).sorted() == ["admitted", "dischargeCancelled", "discharged", "transferred"])
            #expect(archive.tasks.filter { $0.kind == "discharge72h" }.allSatisfy { $0.withdrawn })
            #expect(try await agent.call(.get, "/api/encounters/\(encounter)").decode(Encounter.self).wardId == "W-ORTH")

            // Rules: preview and apply.
            let rule = #"{"name":"骨科随访","kind":"periodic","triggerEvent":"admission","intervalDays":30,"repeatCount":2,"filter":{"wards":["W-ORTH"]},"active":true}"#
            #expect(try await manager.call(.post, "/api/rules/preview?since=2026-11-01", json: rule).decode(RulePreview.self).tasks == 2)
            let ruleID = try await manager.call(.post, "/api/rules", json: rule).decode(CreatedID.self).id
            #expect(try await manager.call(.post, "/api/rules/\(ruleID)/apply?since=2026-11-01").text == #"{"tasks":2}"#)
            #expect(try await agent.call(.get, "/api/rules").decode([FollowUpRule].self).count == 1)

            // Appointments, blacklist, lost claims, SMS campaign and outbox, templates.
            let appointment = try await agent.call(
                .post, "/api/appointments", json: #"{"patientId":"\#(first)","kind":"visit","departmentId":"D-CARD","scheduledAt":"2026-12-02T09:00:00+08:00"}"#
            )
            .decode(CreatedID.self).id
            #expect(try await agent.call(.post, "/api/appointments/\(appointment)/status", json: #"{"status":"confirmed"}"#).status == .ok)
            #expect(try await agent.call(.post, "/api/blacklist", json: #"{"phone":"+86 139 0000 9999","blacklisted":true,"reason":"骚扰"}"#).status == .ok)
            #expect(try await agent.call(.get, "/api/blacklist").decode([BlacklistEntry].self).map(\.number) == ["139****9999"])
            #expect(try await agent.call(.get, "/api/tasks/lost-claims").text == "[]")
            #expect(try await manager.call(.put, "/api/sms/templates/care", json: #"{"id":"","name":"关怀","kind":"followup","body":"{name}您好，请按时复查"}"#).status == .ok)
            let campaign = try await manager.call(.post, "/api/sms/campaigns", json: #"{"name":"复查提醒","templateId":"care","audience":{"departments":["D-ORTH"]}}"#)
            #expect(campaign.status == .created && campaign.text.contains(#""messages":1"#))
            #expect(try await manager.call(.get, "/api/sms/outbox?status=queued").decode(Page<SMSMessage>.self).items.map(\.body) == ["林一您好，请按时复查"])
            let unknownStatus = try await manager.call(.get, "/api/sms/outbox?status=lost")
            #expect(unknownStatus.status == .badRequest && unknownStatus.error?.error.message == "status must be one of queued, sent, delivered, failed, cancelled")
            #expect(try await admin.call(.post, "/api/sms/inbound", json: #"{"phone":"13811112222","body":"T"}"#).status == .ok)
            #expect(try await manager.call(.post, "/api/sms/audience-count", json: #"{"departments":["D-ORTH"]}"#).text == #"{"count":0}"#)
            #expect(try await manager.call(.get, "/api/templates").text == "[]")

            // Statistics routes answer; the audit trail names who did it.
            for path in ["coverage", "opinions-by-department", "satisfaction"] {
                #expect(try await manager.call(.get, "/api/stats/\(path)?from=2026-11-01&to=2026-11-30").status == .ok)
            }
            #expect(try await manager.call(.get, "/api/stats/complaint-ageing").status == .ok)
            #expect(try await manager.call(.get, "/api/stats/opinions?kind=praise&from=2026-11-01&to=2026-11-30").status == .ok)
            let audit = try await manager.call(.get, "/api/audit?entityId=\(first)").decode(Page<AuditEntry>.self)
            #expect(audit.items.map(\.action).contains("patient.create") && audit.items.allSatisfy { $0.nodeId == runtime.replica.nodeID.description })
            #expect(try await manager.call(.get, "/api/conflicts").text == "[]")
        }
    }
}

let bedsideTemplate = SurveyDefinition(questions: [
    .init(id: "overall", text: "总体满意度", type: .scale5, required: true, role: .overall),
    .init(id: "nps", text: "推荐意愿", type: .nps, required: true, role: .recommend),
])

@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteExists() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("central").path
        try NodeDirectory(path).createCentral(name: "central", NodeSetup(listen: "127.0.0.1:7400", policies: PolicyDirectory(NodeNetworkTests.policies)))
        let (_, configuration, runtime) = try NodeRuntime.open(directory: path, logger: quietLogger, passwordStrength: .minimum)
        let routes = Set(
            buildRouter(runtime: runtime, configuration: configuration, answeringUndeclaredMethods: false).routes
                .filter { "\($0.path)".hasPrefix("/api/") || "\($0.path)".hasPrefix("/fhir/") }.map { "\($0.method.rawValue.lowercased()) \($0.path)" })

        let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/openapi.yaml")
        var documented = Set<String>()
        var current: String?
        for line in try String(contentsOf: document, encoding: .utf8).split(separator: "\n") {
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                let path = String(line.dropFirst(2).dropLast())
                current = path.hasPrefix("/api/") || path.hasPrefix("/fhir/") ? path : nil
                continue
            }
            if !line.hasPrefix(" ") { current = nil }
            if let current, line.hasPrefix("    "), !line.hasPrefix("     "),
                let method = ["get", "post", "put", "patch", "delete"].first(where: { line.dropFirst(4).hasPrefix("\($0):") })
            {
                documented.insert("\(method) \(current)")
            }
        }
        #expect(routes.count > 60)
        #expect(routes.subtracting(documented).sorted() == [], "routes missing from docs/openapi.yaml")
        #expect(documented.subtracting(routes).sorted() == [], "documented routes that do not exist")
    }
}
