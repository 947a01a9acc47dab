import CRMDomain
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Replica
import TestSupport
import Testing

@testable import Benchmarks
@testable import NodeHTTP
@testable import NodeRuntime
@testable import Testnets

extension NodeNetworkTests {
    /// A ward node does ward work through its own API while its link to central is cut: the nurse
    /// logs in (the account came from central earlier), sees her ward (the patient central admitted
    /// to it reached the ward node with the admission), captures a bedside survey; the status shows
    /// it pending; when the link heals, central has it.
    @Test func aWardNodeWorksThroughItsAPIWhileCentralIsUnreachable() async throws {
        let pair = try await startPair()
        defer { pair.stop() }
        let crm = pair.central.crm
        try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-CARD", name: "心内科"))
        try await crm.organisation.saveReference(.system, .ward, ReferenceItem(id: "W-CARD", name: "心内一病区", departmentId: "D-CARD"))
        _ = try await crm.surveys.saveTemplate(.system, id: "bedside", name: "床边探访", purpose: "bedside", diseaseCode: nil, definition: bedsideTemplate)
        try await crm.accounts.saveUser(.system, username: "nurse", displayName: "护士", role: .visitor, password: "password-nurse", wardId: "W-CARD")
        let patient = try await crm.patients.create(.system, PatientInput(name: "离线", phone: "13800001111"))
        let centralRows = { try pair.central.replica.statistics().rows }
        let admission = EncounterInput(patientId: patient, kind: "inpatient", departmentId: "D-CARD", wardId: "W-CARD", admittedAt: "2026-11-23T08:00:00+08:00")
        _ = try await crm.encounters.record(.system, admission)
        #expect(try await eventually { try pair.ward.replica.statistics().rows["appUser"] == 1 && pair.ward.replica.statistics().rows["patient"] == 1 })

        pair.proxy.update { $0.partitioned = true }
        let configuration = try NodeDirectory(pair.directory.appendingPathComponent("ward").path).configuration()
        let app = Application(router: buildRouter(runtime: pair.ward, configuration: configuration))
        try await app.test(.router) { client in
            let nurse = try await APIClient(client: client).logIn("nurse", "password-nurse")
            let ward = try await nurse.call(.get, "/api/wards/W-CARD/patients").decode([WardPatient].self)
            #expect(ward.count == 1 && ward[0].bedsideVisitDue)
            let survey =
                #"{"id":"01JOFFLINEAPI00000000001","templateId":"bedside","templateVersion":1,"patientId":"\#(patient)","wardId":"W-CARD","mode":"bedside","taskId":"\#(ward[0].bedsideTaskId!)","submittedAt":"2026-11-23T09:00:00+08:00","answers":{"overall":5,"nps":9}}"#
            #expect(try await nurse.call(.post, "/api/responses", json: survey).status == .created)
            #expect(try await nurse.call(.get, "/api/status").status == .forbidden, "peers and addresses are for IT staff")
            let status = try await nurse.call(.get, "/api/status/link").decode(NodeLinkStatus.self)
            #expect(status.peers.first.map { $0.pendingOut > 0 } == true, "the captured work waits for the link")
        }
        #expect(try centralRows()["surveyResponse"] ?? 0 == 0)
        pair.proxy.update { $0.partitioned = false }
        #expect(try await eventually { try centralRows()["surveyResponse"] == 1 && centralRows()["encounter"] == 1 })
        await #expect(try crm.patients.archive(Caller(userId: "m", role: .manager), patientId: patient).tasks.first?.doneAt != nil)
    }
}
