import CRMDomain
import Foundation
import GRDB
import Replica
import Testing

@Suite("Demo hospital generator")
struct DemoDataTests {
    @Test func theSameSeedGivesTheSameHospitalAndEveryWorkflowHasData() throws {
        let a = try TestNode(1), b = try TestNode(2)
        let generator = HospitalGenerator(seed: 7, patients: 300, password: "demo-password")
        let summary = try generator.load(into: a.crm)
        _ = try generator.load(into: b.crm)
        for dataset in CSVDataset.allCases {
            #expect(try a.crm.exportCSV(Staff.manager, dataset) == b.crm.exportCSV(Staff.manager, dataset), "\(dataset)")
        }
        #expect(summary.patients == 300 && summary.departments == 12 && summary.wards == 24)
        #expect(summary.encounters > 240 && summary.responses > 200 && summary.tasksClosed > 100)
        let range = DayRange(from: "2026-01-01", to: "2026-12-31")
        #expect(try !a.crm.nps(Staff.manager, range: range, period: .month).isEmpty)
        #expect(try a.crm.satisfaction(Staff.manager, range: range).map(\.mode) == ["bedside", "phone"])
        #expect(try !a.crm.followUpQueue(Staff.agent, page: PageRequest()).items.isEmpty)
        #expect(try a.crm.complaintAgeing(Staff.manager).open > 0)
        #expect(try !a.crm.opinionsByDepartment(Staff.manager, range: range).isEmpty)
        #expect(try a.crm.login(username: "manager", password: "demo-password").user.role == .manager)
        let other = try HospitalGenerator(seed: 8, patients: 300).load(into: TestNode(3).crm)
        #expect(other.encounters != summary.encounters || other.responses != summary.responses)
    }
}
