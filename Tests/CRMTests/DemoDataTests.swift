import CRMDomain
import Foundation
import GRDB
import Replica
import TestSupport
import Testing

@Suite("Demo hospital generator")
struct DemoDataTests {
    @Test func theSameSeedGivesTheSameHospitalAndEveryWorkflowHasData() async throws {
        let a = try TestNode(1), b = try TestNode(2)
        let generator = HospitalGenerator(seed: 7, patients: 300, password: "demo-password")
        let summary = try await generator.load(into: a.crm)
        _ = try await generator.load(into: b.crm)
        for dataset in CSVDataset.allCases {
            await #expect(try a.crm.patients.exportCSV(Staff.manager, ExportDataset(dataset)) == b.crm.patients.exportCSV(Staff.manager, ExportDataset(dataset)), "\(dataset)")
        }
        #expect(summary.patients == 300 && summary.departments == 12 && summary.wards == 24)
        #expect(summary.encounters > 240 && summary.responses > 200 && summary.tasksClosed > 100)
        let range = DayRange(from: "2026-01-01", to: "2026-12-31")
        await #expect(try !a.crm.statistics.nps(Staff.manager, range: range, period: .month).isEmpty)
        await #expect(try a.crm.statistics.satisfaction(Staff.manager, range: range).map(\.mode) == ["bedside", "phone"])
        await #expect(try !a.crm.followUps.queue(Staff.agent, page: PageRequest()).items.isEmpty)
        await #expect(try a.crm.statistics.complaintAgeing(Staff.manager).open > 0)
        await #expect(try !a.crm.statistics.opinionsByDepartment(Staff.manager, range: range).isEmpty)
        await #expect(try a.crm.accounts.login(username: "manager", password: "demo-password").user.role == .manager)
        let other = try await HospitalGenerator(seed: 8, patients: 300).load(into: TestNode(3).crm)
        #expect(other.encounters != summary.encounters || other.responses != summary.responses)
    }
}
