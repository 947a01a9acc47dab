import CRMDomain
import Foundation
import GRDB
import HL7
import Replica
import Testing

/// The archive search by several criteria, bed numbers and contact persons (typed, imported and
/// from the HIS), and the blacklist with whose numbers they are.
@Suite("Archive search, beds and contact persons")
struct ArchiveSearchTests {
    /// 王一: cardiology, DR-A, I21.0, bed 12, admitted 11-01, still in; contact 王小一.
    /// 李二: orthopaedics, DR-B, S72.0, bed 3, admitted 11-05, discharged 11-10; praise in the history.
    /// 张三: outpatient visit in cardiology on 11-20, diagnosis I10; contact's phone 13900000003.
    static func hospital() async throws -> (TestNode, [String]) {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        let one = try await node.crm.patients.create(
            Staff.agent, PatientInput(name: "王一", phone: "13800000001", contactName: "王小一", contactPhone: "13900000001"))
        let two = try await node.crm.patients.create(Staff.agent, PatientInput(name: "李二", phone: "13800000002"))
        let three = try await node.crm.patients.create(Staff.agent, PatientInput(name: "张三", phone: "13800000003", contactPhone: "+86 139 0000 0003"))
        _ = try await node.crm.encounters.record(
            Staff.manager,
            EncounterInput(
                patientId: one, kind: "inpatient", departmentId: "D-CARD", wardId: "W-CARD", doctorId: "DR-A", diagnosisCode: "I21.0",
                admittedAt: "2026-11-01T08:00:00+08:00", bed: "12"))
        let stay = try await node.crm.encounters.record(
            Staff.manager,
            EncounterInput(
                patientId: two, kind: "inpatient", departmentId: "D-ORTH", wardId: "W-ORTH", doctorId: "DR-B", diagnosisCode: "S72.0",
                admittedAt: "2026-11-05T08:00:00+08:00", bed: "3"))
        try await node.crm.encounters.discharge(Staff.manager, encounterId: stay, at: "2026-11-10T10:00:00+08:00", status: .improved)
        _ = try await node.crm.encounters.record(
            Staff.manager,
            EncounterInput(patientId: three, kind: "outpatient", departmentId: "D-CARD", diagnosisCode: "I10", admittedAt: "2026-11-20T09:00:00+08:00"))
        var submission = bedsideSubmission("01JSEARCH000000000000001", patient: two, overall: 5, nps: 10, ward: "W-ORTH", at: "2026-11-06T10:00:00+08:00")
        submission.opinions = [OpinionInput(kind: .praise, text: "护士很好")]
        _ = try await node.crm.surveys.submit(Staff.manager, submission)
        return (node, [one, two, three])
    }

    static func names(_ node: TestNode, _ query: ArchiveQuery, caller: Caller = Staff.agent) async throws -> [String] {
        try await node.crm.patients.search(caller, query, page: PageRequest(limit: 50)).items.map(\.name).sorted()
    }

    @Test func everyCriterionNarrowsTheSearchAndAStayMustMeetThemAllAtOnce() async throws {
        let (node, _) = try await Self.hospital()
        #expect(try await Self.names(node, ArchiveQuery(departmentId: "D-CARD")) == ["张三", "王一"])
        #expect(try await Self.names(node, ArchiveQuery(wardId: "W-ORTH")) == ["李二"])
        #expect(try await Self.names(node, ArchiveQuery(doctorId: "DR-A")) == ["王一"])
        #expect(try await Self.names(node, ArchiveQuery(diagnosis: "i21")) == ["王一"], "a prefix, any case")
        #expect(try await Self.names(node, ArchiveQuery(diagnosis: "I")) == ["张三", "王一"])
        #expect(try await Self.names(node, ArchiveQuery(admittedFrom: "2026-11-02", admittedTo: "2026-11-20")) == ["张三", "李二"], "both ends included")
        #expect(try await Self.names(node, ArchiveQuery(dischargedFrom: "2026-11-10", dischargedTo: "2026-11-10")) == ["李二"])
        #expect(try await Self.names(node, ArchiveQuery(status: .admitted)) == ["王一"])
        #expect(try await Self.names(node, ArchiveQuery(status: .discharged)) == ["李二"])
        #expect(try await Self.names(node, ArchiveQuery(status: .outpatient)) == ["张三"])
        #expect(try await Self.names(node, ArchiveQuery(status: .died)).isEmpty)
        #expect(try await Self.names(node, ArchiveQuery(bed: "12")) == ["王一"])
        #expect(try await Self.names(node, ArchiveQuery(opinion: .praise)) == ["李二"])
        #expect(try await Self.names(node, ArchiveQuery(opinion: .important)).isEmpty)
        #expect(try await Self.names(node, ArchiveQuery(contact: "王小")) == ["王一"])
        #expect(try await Self.names(node, ArchiveQuery(contact: "139-0000-0003")) == ["张三"], "a contact's number in any format")
        // Together: each must hold, and one stay must meet all stay criteria.
        #expect(try await Self.names(node, ArchiveQuery(text: "王", departmentId: "D-CARD")) == ["王一"])
        #expect(try await Self.names(node, ArchiveQuery(departmentId: "D-CARD", status: .discharged)).isEmpty)
        #expect(try await Self.names(node, ArchiveQuery(wardId: "W-CARD", bed: "3")).isEmpty)
        #expect(ArchiveQuery(text: "  ").isEmpty && !ArchiveQuery(bed: "3").isEmpty)
        await #expect(throws: CRMError.self) { try await node.crm.patients.search(Staff.agent, ArchiveQuery(admittedFrom: "2026-13-01"), page: PageRequest(limit: 5)) }
        await #expect(throws: CRMError.self) {
            try await node.crm.patients.search(Staff.agent, ArchiveQuery(diagnosis: String(repeating: "I", count: 21)), page: PageRequest(limit: 5))
        }
        await #expect(throws: CRMError.self) {
            try await node.crm.patients.search(Staff.agent, ArchiveQuery(contact: String(repeating: "王", count: 51)), page: PageRequest(limit: 5))
        }
    }

    @Test func aVisitorFindsOnlyItsWardsPatientsAndPagesNeverRepeat() async throws {
        let (node, ids) = try await Self.hospital()
        #expect(try await Self.names(node, ArchiveQuery(departmentId: "D-ORTH"), caller: Staff.visitor).isEmpty, "W-CARD's visitor")
        #expect(try await Self.names(node, ArchiveQuery(status: .admitted), caller: Staff.visitor) == ["王一"])
        var seen: [String] = []
        var after: String?
        repeat {
            let page = try await node.crm.patients.search(Staff.agent, ArchiveQuery(diagnosis: "I"), page: PageRequest(after: after, limit: 1))
            seen += page.items.map(\.id)
            after = page.next
        } while after != nil
        #expect(seen.sorted() == [ids[0], ids[2]].sorted())
    }

    @Test func aMergedAwayArchivesStayLeadsToItsSurvivor() async throws {
        let (node, ids) = try await Self.hospital()
        // 李二's stay now lives on 王一's archive: searching by it finds 王一 once.
        _ = try await node.crm.patients.merge(Staff.manager, survivorId: ids[0], mergedId: ids[1], reason: "同一人")
        #expect(try await Self.names(node, ArchiveQuery(wardId: "W-ORTH")) == ["王一"])
        #expect(try await Self.names(node, ArchiveQuery(opinion: .praise)) == ["王一"])
    }

    @Test func bedsAndContactsAreCheckedStoredImportedAndMasked() async throws {
        let (node, ids) = try await Self.hospital()
        let patient = try await node.crm.patients.patient(ids[2])
        #expect(patient.contactPhone == "13900000003" && patient.contactName == nil)
        await #expect(throws: CRMError.self) { try await node.crm.patients.update(Staff.agent, id: ids[2], PatientInput(contactPhone: "not a phone")) }
        await #expect(throws: CRMError.self) { try await node.crm.patients.update(Staff.agent, id: ids[2], PatientInput(contactName: "a\nb")) }
        try await node.crm.patients.update(Staff.agent, id: ids[0], PatientInput(contactName: " ", contactPhone: ""))
        let cleared = try await node.crm.patients.patient(ids[0])
        #expect(cleared.contactName == nil && cleared.contactPhone == nil)
        let masked = try await node.crm.patients.archive(Staff.visitor, patientId: ids[0])
        #expect(masked.patient.contactPhone == nil)
        try await node.crm.patients.update(Staff.agent, id: ids[0], PatientInput(contactPhone: "13900000001"))
        #expect(try await node.crm.patients.archive(Staff.visitor, patientId: ids[0]).patient.contactPhone == "139****0001", "a visitor sees it masked")
        // Beds: one line of at most 20; a transfer moves to the new bed or clears the old one.
        await #expect(throws: CRMError.self) {
            try await node.crm.encounters.record(
                Staff.manager, EncounterInput(patientId: ids[0], kind: "inpatient", wardId: "W-CARD", admittedAt: "2026-11-02T08:00:00+08:00", bed: "1\n2"))
        }
        let stay = try #require(try await node.replica.reader.read { db in try String.fetchOne(db, sql: "SELECT id FROM encounter WHERE bed = '12'") })
        try await node.crm.encounters.transfer(Staff.manager, encounterId: stay, toWardId: "W-ORTH", toDepartmentId: "D-ORTH", at: nil, bed: "7")
        #expect(try await node.crm.encounters.encounter(stay).bed == "7")
        try await node.crm.encounters.transfer(Staff.manager, encounterId: stay, toWardId: "W-CARD", toDepartmentId: "D-CARD", at: nil)
        #expect(try await node.crm.encounters.encounter(stay).bed == nil, "the old ward's bed is not kept")
        // CSV: both columns import and export.
        let report = try await node.crm.patients.importCSV(
            Staff.manager, .patients, text: "hisId,name,contactName,contactPhone\nP9,赵九,赵小九,13900000009\n")
        #expect(report.applied)
        let encounters = try await node.crm.patients.importCSV(
            Staff.manager, .encounters, text: "hisId,patientHisId,kind,wardId,admittedAt,bed\nZY9,P9,inpatient,W-CARD,2026-11-03T08:00:00+08:00,=5\n")
        #expect(encounters.applied, "\(encounters.rejected)")
        let patients = try await node.crm.patients.exportCSV(Staff.manager, .patients)
        let row = try #require(try CSV.parse(patients).first { $0.fields.first == "P9" }?.fields)
        #expect(row.suffix(2) == ["赵小九", "13900000009"])
        #expect(try await node.crm.patients.exportCSV(Staff.manager, .encounters).contains(",'=5\n"), "a bed that looks like a formula stays text")
    }

    @Test func theHISFeedGivesTheBedAndTheNextOfKin() async throws {
        let node = try await HISFeedTests.node()
        var pv1 = ADT.pv1
        pv1[3] = "W12^301^21"
        let admit = await node.crm.his.receive(ADT("A01", "B1", pv1: pv1, extra: ["NK1|1|王^小三^^^^^L|SPO||13900001111"]).bytes)
        #expect(admit.code == .accept, "\(admit.ackText)")
        let patient = try await node.crm.patients.patient("his-P001")
        #expect(patient.contactName == "王小三" && patient.contactPhone == "13900001111")
        var encounter = try #require(try await HISFeedTests.encounters(node).first)
        #expect(encounter.bed == "21")
        // Another bed in the same ward, then another ward.
        pv1[3] = "W12^302^22"
        #expect(await node.crm.his.receive(ADT("A02", "B2", pv1: pv1).bytes).code == .accept)
        encounter = try #require(try await HISFeedTests.encounters(node).first)
        #expect(encounter.bed == "22" && encounter.wardId == "W-CARD")
        pv1[3] = "W20^5^1"
        pv1[10] = "ORTH"
        #expect(await node.crm.his.receive(ADT("A02", "B3", pv1: pv1).bytes).code == .accept)
        encounter = try #require(try await HISFeedTests.encounters(node).first)
        #expect(encounter.bed == "1" && encounter.wardId == "W-ORTH")
        // A bed Suifang would refuse is left out; the admission is not.
        var odd = ADT.pv1
        odd[3] = "W12^301^" + String(repeating: "9", count: 30)
        odd[19] = "V002"
        #expect(await node.crm.his.receive(ADT("A01", "B4", pid: [1: "1", 3: "P002^^^HIS^PI", 5: "李^四"], pv1: odd).bytes).code == .accept)
        #expect(try await HISFeedTests.encounters(node).contains { $0.patientId == "his-P002" && $0.bed == nil })
    }

    @Test func theBlacklistSaysWhoseNumbersTheyAreWithoutShowingThem() async throws {
        let (node, ids) = try await Self.hospital()
        try await node.crm.service.setBlacklisted(Staff.agent, phone: "138 0000 0002", blacklisted: true, reason: "骚扰电话")
        try await node.crm.service.setBlacklisted(Staff.agent, phone: "13700000000", blacklisted: true, reason: nil)
        let entries = try await node.crm.service.blacklist(Staff.agent)
        #expect(entries.count == 2)
        let known = try #require(entries.first { $0.reason == "骚扰电话" })
        #expect(known.number == "138****0002" && known.archives.map(\.id) == [ids[1]] && known.archives.map(\.name) == ["李二"])
        #expect(entries.first { $0.reason == nil }?.archives.isEmpty == true)
        try await node.crm.service.setBlacklisted(Staff.agent, phone: "13800000002", blacklisted: false, reason: nil)
        #expect(try await node.crm.service.blacklist(Staff.agent).count == 1)
        await #expect(throws: CRMError.self) { try await node.crm.service.blacklist(Staff.visitor) }
    }
}
