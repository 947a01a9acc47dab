import CRMDomain
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import NodeHTTP
@testable import NodeRuntime

/// FHIR read access: ids, readers, and what a Patient and an Encounter search say.
@Suite("FHIR R4 read")
struct FHIRTests {
    @Test func idsRoundTripThroughTheFHIRAlphabet() {
        for id in ["his-P001", "his-V1~W-CARD", "a.b_c~d", "01M8ZK5949RPJTEYZS9YJFB4F5", "x..y__z"] {
            let encoded = FHIRID.encode(id)
            #expect(encoded.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }, "\(encoded)")
            #expect(FHIRID.decode(encoded) == id)
        }
        for bad in ["a.", "a.9", "a_b", "", String(repeating: "a", count: 65), "a/b"] {
            #expect(FHIRID.decode(bad) == nil, "\(bad)")
        }
    }

    @Test func aReaderGetsPatientsAndEncountersAndOthersGetOperationOutcomes() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-CARD", name: "心内科"))
            try await crm.organisation.saveReference(.system, .ward, ReferenceItem(id: "W-CARD", name: "心内一病区", departmentId: "D-CARD"))
            let patient = try await crm.patients.create(.system, PatientInput(name: "张三", gender: "female", birthDate: "1960-05-01", phone: "13800138000"))
            _ = try await crm.encounters.record(
                .system,
                EncounterInput(patientId: patient, kind: "inpatient", departmentId: "D-CARD", wardId: "W-CARD", admittedAt: "2026-11-20T08:00:00+08:00", hisId: "V_1"))
            let token = try runtime.machines.create(name: "bi", scopes: [.fhir])
            func get(_ path: String, _ token: String?) async throws -> (HTTPResponse.Status, [String: Any]) {
                try await client.execute(uri: path, method: .get, headers: token.map { [.authorization: "Bearer \($0)"] } ?? [:]) { response in
                    (response.status, (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]) ?? [:])
                }
            }
            let (status, card) = try await get("/fhir/Patient/\(patient)", token)
            #expect(status == .ok && card["resourceType"] as? String == "Patient" && card["gender"] as? String == "female")
            #expect((card["name"] as? [[String: Any]])?.first?["text"] as? String == "张三")
            let (_, bundle) = try await get("/fhir/Encounter?patient=Patient/\(patient)", token)
            let encounter = try #require((bundle["entry"] as? [[String: Any]])?.first?["resource"] as? [String: Any])
            #expect(encounter["status"] as? String == "in-progress")
            #expect((encounter["id"] as? String).flatMap(FHIRID.decode)?.hasPrefix("his-V_1~") == true)
            #expect(((encounter["identifier"] as? [[String: Any]])?.first?["value"] as? String) == "V_1")
            // No credential, another scope, a visitor: OperationOutcomes.
            let (anonymous, outcome) = try await get("/fhir/Patient/\(patient)", nil)
            #expect(anonymous == .unauthorized && outcome["resourceType"] as? String == "OperationOutcome")
            let pbx = try runtime.machines.create(name: "pbx", scopes: [.screenPop])
            #expect(try await get("/fhir/Patient/\(patient)", pbx).0 == .forbidden)
            #expect(try await get("/fhir/Patient/not_a.fhir.id", token).0 == .notFound)
            // Reads are in the audit trail under the machine's name.
            let trail = try await crm.organisation.auditTrail(.system, page: PageRequest(limit: 100))
            #expect(trail.items.contains { $0.userId == "machine:bi" })
        }
    }
}
