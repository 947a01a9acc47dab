import CRMDomain
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import NodeHTTP
@testable import NodeRuntime

/// Admissions, transfers, discharges and visits by hand, on the /encounters page.
@Suite("Web UI: encounters by hand")
struct EncounterPageTests {
    static func organisation(_ crm: CRM) async throws {
        for (id, name) in [("D-CARD", "心内科"), ("D-ORTH", "骨科")] {
            try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: id, name: name))
        }
        try await crm.organisation.saveReference(.system, .ward, ReferenceItem(id: "W-CARD", name: "心内一病区", departmentId: "D-CARD"))
        try await crm.organisation.saveReference(.system, .ward, ReferenceItem(id: "W-ORTH", name: "骨科病区", departmentId: "D-ORTH"))
    }

    static func post(_ client: any TestClientProtocol, _ uri: String, _ body: String, _ cookie: String) async throws -> (HTTPResponse.Status, String) {
        let (headers, buffer) = DeskAndEditorTests.form(body, cookie)
        return try await client.execute(uri: uri, method: .post, headers: headers, body: buffer) { ($0.status, String(buffer: $0.body)) }
    }

    @Test func aNurseAdmitsTransfersAndDischargesInHerOwnWardOnly() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            try await Self.organisation(crm)
            let nurse = try await WebArchiveAndChartTests.logIn(client, "nurse")
            // A new archive admitted at the bedside; the ward in the form is not hers and is ignored.
            let admit = "kind=inpatient&name=新入院&gender=female&birthDate=1960-05-01&wardId=W-ORTH&diagnosisCode=I21&at=2026-12-04T08:30"
            #expect(try await Self.post(client, "/encounters", admit, nurse).0 == .seeOther)
            let list = try await client.execute(uri: "/encounters", method: .get, headers: [.cookie: nurse]) { String(buffer: $0.body) }
            #expect(list.contains("新入院") && list.contains("id=\"admitted\""))
            #expect(!list.contains("id=\"visit-form\""), "a ward records admissions, not outpatient visits")
            let patients = try await crm.encounters.wardPatients(Caller(userId: "nurse", role: .visitor, wardId: "W-CARD"), wardId: "W-CARD")
            let admitted = try #require(patients.first { $0.patient.name == "新入院" }).encounter
            #expect(admitted.wardId == "W-CARD" && admitted.departmentId == "D-CARD" && admitted.diagnosisCode == "I21")
            #expect(admitted.admittedAt == "2026-12-04T08:30:00+08:00")

            // Discharged from the list.
            #expect(try await Self.post(client, "/encounters/\(admitted.id)/discharge", "status=improved&at=2026-12-06T10:00", nurse).0 == .seeOther)
            #expect(try await crm.encounters.encounter(admitted.id).dischargedAt == "2026-12-06T10:00:00+08:00")

            // A second admission moves to another ward: off her list, and out of her reach.
            #expect(try await Self.post(client, "/encounters", "kind=inpatient&name=转科患者&at=2026-12-04T09:00", nurse).0 == .seeOther)
            let moving = try #require(
                try await crm.encounters.wardPatients(Caller(userId: "nurse", role: .visitor, wardId: "W-CARD"), wardId: "W-CARD").first { $0.patient.name == "转科患者" }
            ).encounter
            let badTime = try await Self.post(client, "/encounters/\(moving.id)/transfer", "toWardId=W-ORTH&at=tomorrow", nurse)
            #expect(badTime.0 == .ok && badTime.1.contains("请填写时间"), "a time that is not one is refused, not taken as now")
            #expect(try await Self.post(client, "/encounters/\(moving.id)/transfer", "toWardId=W-ORTH&at=2026-12-05T09:00", nurse).0 == .seeOther)
            #expect(try await crm.encounters.encounter(moving.id).wardId == "W-ORTH")
            let after = try await client.execute(uri: "/encounters", method: .get, headers: [.cookie: nurse]) { String(buffer: $0.body) }
            #expect(!after.contains("转科患者"))
            #expect(try await Self.post(client, "/encounters/\(moving.id)/cancel", "", nurse).0 == .notFound)
            #expect(try await crm.encounters.encounter(moving.id).cancelled == false)

            // Without a time the form comes back with the reason, and no archive is made.
            let before = try await crm.patients.search(Caller(userId: "manager", role: .manager), query: "无时间", page: PageRequest()).items.count
            let refused = try await Self.post(client, "/encounters", "kind=inpatient&name=无时间&at=", nurse)
            #expect(refused.0 == .ok && refused.1.contains("请填写时间"))
            #expect(try await crm.patients.search(Caller(userId: "manager", role: .manager), query: "无时间", page: PageRequest()).items.count == before)
        }
    }

    @Test func aManagerRecordsAnOutpatientVisitFromThePatientsPageAndAgentsHaveNoAccess() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            try await Self.organisation(crm)
            let patient = try await crm.patients.create(.system, PatientInput(name: "门诊患者", phone: "13800138125"))
            let manager = try await WebArchiveAndChartTests.logIn(client, "manager")
            let page = try await client.execute(uri: "/patients/\(patient)", method: .get, headers: [.cookie: manager]) { String(buffer: $0.body) }
            #expect(page.contains("href=\"/encounters?patient=\(patient)\""))
            let form = try await client.execute(uri: "/encounters?patient=\(patient)", method: .get, headers: [.cookie: manager]) { String(buffer: $0.body) }
            #expect(form.contains("name=\"patientId\" value=\"\(patient)\""))
            // An outpatient visit belongs to no ward, whatever the form says (a ward would keep the patient in reach).
            let visit = "kind=outpatient&patientId=\(patient)&wardId=W-CARD&departmentId=D-ORTH&at=2026-12-04T14:20"
            #expect(try await Self.post(client, "/encounters", visit, manager).0 == .seeOther)
            let archive = try await crm.patients.archive(Caller(userId: "manager", role: .manager), patientId: patient)
            let recorded = try #require(archive.encounters.first)
            #expect(recorded.kind == "outpatient" && recorded.departmentId == "D-ORTH" && recorded.wardId == nil)

            let agent = try await WebArchiveAndChartTests.logIn(client, "agent")
            #expect(try await client.execute(uri: "/encounters", method: .get, headers: [.cookie: agent]) { $0.status } == .forbidden)
        }
    }
}
