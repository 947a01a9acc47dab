import CRMDomain
import Foundation
import GRDB
import HL7
import Replica
import Testing

/// An ADT message as an HIS engine writes it, field by number.
struct ADT {
    var trigger: String
    var control: String
    var charset = ""
    var segments: [String] = []

    init(_ trigger: String, _ control: String, pid: [Int: String] = ADT.pid, pv1: [Int: String]? = ADT.pv1, extra: [String] = []) {
        self.trigger = trigger
        self.control = control
        segments = ["EVN|\(trigger)|20261201090000", ADT.segment("PID", pid)] + (pv1.map { [ADT.segment("PV1", $0)] } ?? []) + extra
    }

    static let pid: [Int: String] = [1: "1", 3: "P001^^^HIS^PI", 5: "张^三", 7: "19600501", 8: "F", 11: "北京路1号^^广州市^广东省", 13: "13800138000"]
    static let pv1: [Int: String] = [1: "1", 2: "I", 3: "W12^301^2", 10: "CARD", 19: "V001", 44: "20261201083000"]

    static func segment(_ id: String, _ fields: [Int: String]) -> String {
        let count = fields.keys.max() ?? 0
        return ([id] + (1..<(count + 1)).map { fields[$0] ?? "" }).joined(separator: "|")
    }

    var text: String {
        let msh = "MSH|^~\\&|HISAPP|HOSP|SUIFANG|CENTRAL|20261201090000||ADT^\(trigger)^ADT_\(trigger)|\(control)|P|2.5|||||\(charset.isEmpty ? "" : "|\(charset)")"
        return ([msh] + segments).joined(separator: "\r") + "\r"
    }

    var bytes: [UInt8] { Array(text.utf8) }
}

extension HISReceipt {
    var code: HL7Acknowledgement.Code { acknowledgement.code }
    var ackText: String { String(decoding: ack, as: UTF8.self) }
}

/// The HIS feed (HL7 v2 ADT) applied to the CRM: every event, codes mapped, refusals queued,
/// resends applied once, character sets honoured.
@Suite("HIS ADT feed")
struct HISFeedTests {
    static func node() async throws -> TestNode {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        try await node.crm.organisation.saveReference(.system, .staff, ReferenceItem(id: "S-LI", name: "李医生", departmentId: "D-CARD"))
        for (kind, code, target) in [
            (HISCodeKind.ward, "W12", "W-CARD"), (.ward, "W20", "W-ORTH"), (.department, "CARD", "D-CARD"), (.department, "ORTH", "D-ORTH"), (.doctor, "D01", "S-LI"),
        ] {
            try await node.crm.his.setCode(Staff.admin, HISCode(kind: kind, code: code, targetId: target))
        }
        return node
    }

    static func encounters(_ node: TestNode) async throws -> [Encounter] {
        var found: [Encounter] = []
        for id in try await node.replica.reader.read({ db in try String.fetchAll(db, sql: "SELECT id FROM encounter ORDER BY id") }) {
            found.append(try await node.crm.encounters.encounter(id))
        }
        return found
    }

    struct Task {
        var kind: String
        var withdrawn: Bool
        var done: Bool
    }

    static func tasks(_ node: TestNode) throws -> [Task] {
        try node.replica.reader.read { db in
            try Row.fetchAll(db, sql: "SELECT kind, withdrawn IS 1 AS withdrawn, doneAt IS NOT NULL AS done FROM followUpTask ORDER BY id").map {
                Task(kind: $0["kind"], withdrawn: $0["withdrawn"], done: $0["done"])
            }
        }
    }

    @Test func anAdmissionTravelsThroughTransferDischargeAndTheirCancellations() async throws {
        let node = try await Self.node()
        let his = node.crm.his
        var pv1 = ADT.pv1
        pv1[7] = "D01^李^医生"
        let admit = try #require(await his.receive(ADT("A01", "M1", pv1: pv1, extra: ["DG1|1||I21.9^急性心肌梗死^ICD10"]).bytes) as HISReceipt?)
        #expect(admit.code == .accept, "\(admit.ackText)")
        #expect(admit.ackText.contains("MSA|AA|M1"))
        let patient = try await node.crm.patients.patient("his-P001")
        #expect(patient.name == "张三" && patient.gender == "female" && patient.birthDate == "1960-05-01" && patient.phone == "13800138000")
        #expect(patient.address == "广东省广州市北京路1号")
        var encounter = try #require(try await Self.encounters(node).first)
        #expect(encounter.wardId == "W-CARD" && encounter.departmentId == "D-CARD")
        #expect(encounter.doctorId == "S-LI")
        #expect(encounter.diagnosisCode == "I21.9" && encounter.admittedAt == "2026-12-01T08:30:00+08:00")
        let id = encounter.id
        #expect(try Self.tasks(node).map(\.kind) == ["bedside24h"])

        // The same message again (the engine did not see our ACK): acknowledged, applied once.
        let resent = await his.receive(ADT("A01", "M1", pv1: pv1).bytes)
        #expect(resent.code == .accept && resent.duplicate)
        // The same admission under a new control id: still one encounter.
        #expect(await his.receive(ADT("A01", "M1b", pv1: pv1).bytes).code == .accept)
        #expect(try await Self.encounters(node).count == 1 && Self.tasks(node).count == 1)

        var transfer = ADT.pv1
        transfer[3] = "W20^5^1"
        transfer[6] = "W12^301^2"
        transfer[10] = "ORTH"
        #expect(await his.receive(ADT("A02", "M2", pv1: transfer).bytes).code == .accept)
        encounter = try #require(try await Self.encounters(node).first)
        #expect(encounter.wardId == "W-ORTH" && encounter.departmentId == "D-ORTH")
        // A12 cancels it: PV1-3 is where the patient goes back to.
        #expect(await his.receive(ADT("A12", "M3", pv1: ADT.pv1).bytes).code == .accept)
        #expect(try await Self.encounters(node).first?.wardId == "W-CARD")

        var discharge = ADT.pv1
        discharge[45] = "20261205100000"
        discharge[36] = "01"
        #expect(await his.receive(ADT("A03", "M4", pv1: discharge).bytes).code == .accept)
        encounter = try #require(try await Self.encounters(node).first)
        #expect(encounter.dischargedAt == "2026-12-05T10:00:00+08:00" && encounter.dischargeStatus == "improved")
        #expect(try Self.tasks(node).contains { $0.kind == "discharge72h" })
        #expect(await his.receive(ADT("A03", "M4b", pv1: discharge).bytes).code == .accept, "a discharge sent twice is applied once")

        #expect(await his.receive(ADT("A13", "M5", pv1: ADT.pv1).bytes).code == .accept)
        #expect(try await Self.encounters(node).first?.dischargedAt == nil)
        #expect(try Self.tasks(node).filter { $0.kind == "discharge72h" }.allSatisfy(\.withdrawn))

        #expect(await his.receive(ADT("A11", "M6", pv1: ADT.pv1).bytes).code == .accept)
        #expect(try await Self.encounters(node).first?.cancelled == true)
        #expect(try Self.tasks(node).allSatisfy { $0.withdrawn || $0.done })
        #expect(try await node.crm.encounters.encounter(id).cancelled)
        // The trail says the HIS did it.
        let trail = try await node.replica.reader.read { db in try String.fetchAll(db, sql: "SELECT action FROM auditEntry WHERE userId = 'his' ORDER BY at") }
        #expect(Set(trail) == ["his.A01", "his.A02", "his.A12", "his.A03", "his.A13", "his.A11"])
    }

    @Test func messagesThatArriveTogetherShareACommitUnlessOneIsRefused() async throws {
        let node = try await Self.node()
        let his = node.crm.his
        let commits = { try node.replica.versionVector()[node.replica.nodeID] }
        var discharge = ADT.pv1
        discharge[45] = "20261205100000"
        let before = try commits()
        // An admission, its transfer, a malformed message, its discharge and a resend of the first.
        var transfer = ADT.pv1
        transfer[3] = "W20^5^1"
        let receipts = await his.receive([
            ADT("A01", "G1").bytes, ADT("A02", "G2", pv1: transfer).bytes, Array("garbage".utf8), ADT("A03", "G3", pv1: discharge).bytes, ADT("A01", "G1").bytes,
        ])
        #expect(receipts.map(\.code) == [.accept, .accept, .reject, .accept, .accept])
        #expect(receipts.map(\.duplicate) == [false, false, false, false, true])
        #expect(receipts[3].ackText.contains("MSA|AA|G3") && receipts[2].ackText.contains("MSA|AR|"))
        #expect(try commits() == before + 1, "one commit for the group")
        let encounter = try #require(try await Self.encounters(node).first)
        #expect(encounter.wardId == "W-ORTH" && encounter.dischargedAt != nil)

        // One refusal in a group: the others are applied each on its own, it is queued.
        var unmapped = ADT.pv1
        unmapped[3] = "W77"
        unmapped[19] = "V2"
        var second = ADT.pv1
        second[19] = "V3"
        let mixed = await his.receive([ADT("A01", "H1", pv1: unmapped).bytes, ADT("A01", "H2", pv1: second).bytes])
        #expect(mixed.map(\.code) == [.error, .accept] && mixed[0].queued)
        #expect(try await Self.encounters(node).count == 2)
    }

    @Test func aVisitNumberNeverReachesAnotherPatientOrACancelledAdmission() async throws {
        let node = try await Self.node()
        let his = node.crm.his
        #expect(await his.receive(ADT("A01", "X1").bytes).code == .accept)
        // Another patient with the same visit number: discharge, transfer, cancel and admit refused.
        var other = ADT.pid
        other[3] = "P777^^^HIS^PI"
        other[5] = "李^四"
        var discharge = ADT.pv1
        discharge[45] = "20261205100000"
        for (trigger, pv1) in [("A03", discharge), ("A11", ADT.pv1), ("A01", ADT.pv1)] {
            let receipt = await his.receive(ADT(trigger, "X-\(trigger)", pid: other, pv1: pv1).bytes)
            #expect(receipt.code == .error && receipt.ackText.contains("another patient"), "\(trigger): \(receipt.ackText)")
        }
        var encounter = try #require(try await Self.encounters(node).first)
        #expect(encounter.patientId == "his-P001" && encounter.dischargedAt == nil && !encounter.cancelled)
        // Cancelled, then admitted again under the same number: refused loudly, not dropped.
        #expect(await his.receive(ADT("A11", "X2").bytes).code == .accept)
        let again = await his.receive(ADT("A01", "X3").bytes)
        #expect(again.code == .error && again.queued && again.ackText.contains("cancelled admission"))
        encounter = try #require(try await Self.encounters(node).first)
        #expect(encounter.cancelled)
        // Error texts in ACKs are ASCII whatever the message said.
        #expect(again.ack.allSatisfy { $0 < 0x80 })
    }

    @Test func outpatientVisitsPersonsUpdatesAndMerges() async throws {
        let node = try await Self.node()
        let his = node.crm.his
        var visit = ADT.pv1
        visit[2] = "O"
        visit[3] = ""
        visit[19] = "OP-77"
        #expect(await his.receive(ADT("A04", "O1", pv1: visit).bytes).code == .accept)
        #expect(try await Self.encounters(node).first?.kind == "outpatient")

        var other = ADT.pid
        other[3] = "P002^^^HIS^PI"
        other[5] = "张^叁"
        #expect(await his.receive(ADT("A28", "O2", pid: other, pv1: nil).bytes).code == .accept)
        // A08: new phone; an ID number Suifang would refuse (not 6–20 letters or digits) is left out, the rest applied.
        var update = ADT.pid
        update[13] = "13900139000"
        update[19] = "1101-0119-9003"
        let updated = await his.receive(ADT("A08", "O3", pid: update, pv1: ADT.pv1).bytes)
        #expect(updated.code == .accept, "\(updated.ackText)")
        #expect(try await node.crm.patients.patient("his-P001").phone == "13900139000")
        #expect(try await node.crm.patients.patient("his-P001").idNumber == nil)
        #expect(await his.receive(ADT("A31", "O4", pid: other, pv1: nil).bytes).code == .accept)

        // A40: P002 was a duplicate of P001.
        // MRG-1 typed like PID-3: the resident ID listed first is not taken for the patient id.
        let merge = ADT("A40", "O5", pid: ADT.pid, pv1: nil, extra: ["MRG|310101196005011234^^^GOV^NNCHN~P002^^^HIS^PI"])
        let merged = await his.receive(merge.bytes)
        #expect(merged.code == .accept, "\(merged.ackText)")
        #expect(try await node.crm.patients.mergeGraph().root(of: "his-P002") == "his-P001")
        #expect(await his.receive(ADT("A40", "O6", pid: ADT.pid, pv1: nil, extra: ["MRG|P002^^^HIS^PI"]).bytes).code == .accept, "merged already")
        var unknown = ADT("A40", "O7", pid: ADT.pid, pv1: nil, extra: ["MRG|P404^^^HIS^PI"])
        unknown.trigger = "A40"
        #expect(await his.receive(unknown.bytes).code == .error)
    }

    @Test func anUnmappedWardIsQueuedWithoutPatientDataAndReplaysOnceMapped() async throws {
        let node = try await Self.node()
        let his = node.crm.his
        var pv1 = ADT.pv1
        pv1[3] = "W99^1^1"
        let refused = await his.receive(ADT("A01", "Q1", pv1: pv1).bytes)
        #expect(refused.code == .error && refused.queued)
        #expect(refused.ackText.contains("MSA|AE|Q1") && refused.ackText.contains("103^Table value not found^HL70357") && refused.ackText.contains("W99"))
        #expect(try await Self.encounters(node).isEmpty)
        let kept = try? await node.crm.patients.patient("his-P001")
        #expect(kept == nil, "nothing of a refused message is kept in the replica")
        // Resent while still unmapped: one queue entry.
        #expect(await his.receive(ADT("A01", "Q1", pv1: pv1).bytes).code == .error)
        let queue = try await his.refused(Staff.admin)
        #expect(queue.count == 1 && queue[0].errorCode == "103" && queue[0].location == "PV1^3" && queue[0].trigger == "A01")
        #expect(!queue[0].reason.contains("张") && queue[0].sender == "HISAPP^HOSP")
        await #expect(throws: CRMError.self) { try await his.refused(Staff.manager) }

        try await his.setCode(Staff.admin, HISCode(kind: .ward, code: "W99", targetId: "W-ORTH"))
        let replayed = try await his.replay(Staff.admin, id: queue[0].id)
        #expect(replayed.code == .accept, "\(replayed.ackText)")
        #expect(try await Self.encounters(node).first?.wardId == "W-ORTH")
        #expect(try await his.refused(Staff.admin).isEmpty)
        #expect(try await his.refused(Staff.admin, state: "replayed").first?.resolvedBy == "admin1")
        await #expect(throws: CRMError.self) { try await his.replay(Staff.admin, id: queue[0].id) }
        // The engine resends it anyway: applied once.
        #expect(await his.receive(ADT("A01", "Q1", pv1: pv1).bytes).duplicate)

        // Dismissing.
        var unknownVisit = ADT.pv1
        unknownVisit[19] = "V404"
        let cancel = await his.receive(ADT("A11", "Q2", pv1: unknownVisit).bytes)
        #expect(cancel.code == .error && cancel.ackText.contains("204^Unknown key identifier"))
        let second = try #require(try await his.refused(Staff.admin).first)
        try await his.dismiss(Staff.admin, id: second.id)
        #expect(try await his.refused(Staff.admin).isEmpty)
        // Mapping to something that does not exist is refused.
        await #expect(throws: CRMError.self) { try await his.setCode(Staff.admin, HISCode(kind: .ward, code: "W1", targetId: "W-NONE")) }
        await #expect(throws: CRMError.self) { try await his.setCode(Staff.admin, HISCode(kind: .disposition, code: "9", targetId: "gone")) }
        await #expect(throws: CRMError.self) { try await his.setCode(Staff.manager, HISCode(kind: .ward, code: "W1", targetId: "W-CARD")) }
    }

    @Test func malformedAndUnsupportedMessagesAreRejectedWithTheControlIdEchoed() async throws {
        let node = try await Self.node()
        let his = node.crm.his
        var unsupported = ADT("A01", "R1")
        unsupported.segments = []
        let oru = Array(ADT("A01", "R1").text.replacingOccurrences(of: "ADT^A01^ADT_A01", with: "ORU^R01^ORU_R01").utf8)
        let cases: [([UInt8], String)] = [
            (oru, "200"),
            (ADT("A99", "R2").bytes, "201"),
            (ADT("A01", "R3", pid: [1: "1", 5: "张^三"]).bytes, "101"),
            (ADT("A01", "R4", pv1: [2: "I", 3: "W12"]).bytes, "101"),
            (ADT("A01", "R5", pid: [3: "P 1 with spaces"]).bytes, "102"),
            (ADT("A01", "R6", pv1: [2: "I", 3: "W12", 19: "V1", 44: "2026-12-01"]).bytes, "102"),
            (unsupported.bytes, "100"),
            (Array("MSH|^~\\&|HISAPP|HOSP|||x||ADT^A01|R8|P|3.0\rPID|1||P1".utf8), "203"),
            (Array("garbage".utf8), "100"),
        ]
        for (bytes, code) in cases {
            let receipt = await his.receive(bytes)
            #expect(receipt.code == .reject, "\(code): \(receipt.ackText)")
            #expect(receipt.acknowledgement.error?.code.rawValue == code, "\(receipt.ackText)")
            let ack = try HL7Parser.parse(receipt.ack)
            #expect(ack.segment("MSA")?.value(1) == "AR")
        }
        #expect(await his.receive(oru).ackText.contains("MSA|AR|R1"))
        #expect(try await Self.encounters(node).isEmpty)
        #expect(try await his.refused(Staff.admin).isEmpty, "AR is not queued: nothing to fix in the map")
    }

    @Test func chineseEncodingsAreReadAndAWrongOneNeverBecomesGarbledNames() async throws {
        let node = try await Self.node()
        let his = node.crm.his
        var message = ADT("A28", "E1", pv1: nil)
        message.charset = "GB 18030-2000"
        let gbk = Array(message.text.replacingOccurrences(of: "张^三", with: "@@").utf8)
        // 张三 in GB18030, where the text had the placeholder.
        let bytes = gbk.split(separator: UInt8(ascii: "@"), omittingEmptySubsequences: false)
        let encoded = Array(bytes[0]) + [0xD5, 0xC5] + [UInt8(ascii: "^")] + [0xC8, 0xFD] + Array(bytes[2])
        let stripped = encoded.map { $0 }  // 北京路1号… is UTF-8 in the template: replace the address
        let receipt = await his.receive(Self.withoutNonASCIIAddress(stripped))
        #expect(receipt.code == .accept, "\(receipt.ackText)")
        #expect(try await node.crm.patients.patient("his-P001").name == "张三")
        #expect(receipt.ackText.contains("GB 18030-2000"))

        // Declared UTF-8 but GBK bytes, and undeclared GBK: refused, nothing written.
        var pid = ADT.pid
        pid[3] = "P009^^^HIS^PI"
        var utf8 = ADT("A28", "E2", pid: pid, pv1: nil)
        utf8.charset = "UNICODE UTF-8"
        let mislabelled = Array(utf8.text.replacingOccurrences(of: "北京路1号^^广州市^广东省", with: "").replacingOccurrences(of: "张^三", with: "##").utf8)
            .split(separator: UInt8(ascii: "#"), omittingEmptySubsequences: false)
        let wrong = Array(mislabelled[0]) + [0xD5, 0xC5, 0xC8, 0xFD] + Array(mislabelled[2])
        #expect(await his.receive(wrong).code == .reject)
        let garbled = try? await node.crm.patients.patient("his-P009")
        #expect(garbled == nil)
    }

    /// The address of ``ADT/pid`` is UTF-8 text; a GB18030 message must not carry it.
    static func withoutNonASCIIAddress(_ bytes: [UInt8]) -> [UInt8] {
        let address = Array("北京路1号^^广州市^广东省".utf8)
        guard let range = bytes.firstRange(of: address) else { return bytes }
        var copy = bytes
        copy.removeSubrange(range)
        return copy
    }

    @Test func segmentsInOddOrderRepeatedFieldsAndEscapesAreRead() async throws {
        let node = try await Self.node()
        var pid = ADT.pid
        pid[3] = "310101196005011234^^^GOV^NNCHN~P001^^^HIS^PI"
        pid[5] = "O\\T\\Brien^Mary~Alias^Other"
        pid[11] = "Rd 1\\S\\2^^City^Prov"
        pid[13] = "^PRN^PH^^^^^^^^^02012345678~13800138000"
        var message = ADT("A01", "S1", pid: pid)
        // PV1 first, then an unknown Z segment, then PID; two DG1s.
        message.segments = [ADT.segment("PV1", ADT.pv1), "ZXY|1|anything", "EVN|A01|20261201090000", ADT.segment("PID", pid), "DG1|1||I10^^ICD10", "DG1|2||E11^^ICD10"]
        let receipt = await node.crm.his.receive(message.bytes)
        #expect(receipt.code == .accept, "\(receipt.ackText)")
        let patient = try await node.crm.patients.patient("his-P001")
        #expect(patient.name == "Mary O&Brien" && patient.address == "ProvCityRd 1^2")
        #expect(patient.phone == "02012345678")
        #expect(try await Self.encounters(node).first?.diagnosisCode == "I10")
    }
}
