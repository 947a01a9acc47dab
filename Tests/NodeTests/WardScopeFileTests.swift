import CRMDomain
import Foundation
import GRDB
import Replica
import TestSupport
import Testing

@testable import NodeRuntime

extension NodeNetworkTests {
    /// A ward node synced from a hospital with two wards holds nothing of the other ward: no patient
    /// name, phone or ID number, no survey answer, no password hash. Read from the replica's files
    /// (database and write-ahead log), not through the API.
    @Test func aWardNodesFilesHoldNoPatientResponseOrPasswordHashOfAnotherWard() async throws {
        let pair = try await startPair()
        defer { pair.stop() }
        let crm = pair.central.crm
        try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-CARD", name: "心内科"))
        for ward in ["W-CARD", "W-OTHER"] {
            try await crm.organisation.saveReference(.system, .ward, ReferenceItem(id: ward, name: ward, departmentId: "D-CARD"))
        }
        try await crm.accounts.saveUser(.system, username: "nurse-card", displayName: "本病区护士", role: .visitor, password: "password-card", wardId: "W-CARD")
        try await crm.accounts.saveUser(.system, username: "nurse-other", displayName: "外病区护士", role: .visitor, password: "password-other", wardId: "W-OTHER")
        let mine = try await crm.patients.create(.system, PatientInput(name: "本病区王五", idNumber: "350102199001011111", phone: "13811112222"))
        let theirs = try await crm.patients.create(.system, PatientInput(name: "外病区赵六", idNumber: "350102199202022222", phone: "13933334444"))
        for (patient, ward) in [(mine, "W-CARD"), (theirs, "W-OTHER")] {
            _ = try await crm.encounters.record(
                .system, EncounterInput(patientId: patient, kind: "inpatient", departmentId: "D-CARD", wardId: ward, admittedAt: "2026-11-23T08:00:00+08:00"))
        }
        _ = try await crm.surveys.saveTemplate(.system, id: "bedside", name: "床边探访", purpose: "bedside", diseaseCode: nil, definition: bedsideTemplate)
        let answer = "外病区的意见很长很具体"
        _ = try await pair.central.replica.write { tx in
            try tx.insert(
                into: "surveyResponse",
                values: [
                    "templateId": "bedside", "templateVersion": 1, "patientId": theirs, "wardId": "W-OTHER", "mode": "bedside",
                    "submittedAt": "2026-11-23T09:00:00+08:00", "answers": #"{"comment":"\#(answer)"}"#,
                ])
        }
        let otherHash = try await pair.central.replica.reader.read { db in
            try String.fetchOne(db, sql: "SELECT passwordHash FROM appUser WHERE id = 'nurse-other'")
        }
        #expect(
            try await eventually {
                try pair.ward.replica.statistics().rows["patient"] == 1 && pair.ward.replica.statistics().rows["surveyTemplate"] == 1
            })
        let directory = pair.directory.appendingPathComponent("ward")
        var bytes = Data()
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasPrefix("replica.sqlite") {
            bytes += try Data(contentsOf: directory.appendingPathComponent(name))
        }
        #expect(bytes.range(of: Data("本病区王五".utf8)) != nil, "the ward's own patient is there (the search works)")
        for secret in ["外病区赵六", "13933334444", "350102199202022222", answer, try #require(otherHash)] {
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "another ward's data on the ward node's disk")
        }
    }
}
