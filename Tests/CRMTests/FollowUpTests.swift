import CRMDomain
import Foundation
import GRDB
import Replica
import TestSupport
import Testing

@Suite("Encounters, rules and the follow-up queue")
struct FollowUpTests {
    func admit(
        _ node: TestNode, _ patient: String, his: String? = nil, at: String = "2026-11-20T08:00:00+08:00",
        ward: String = "W-CARD", department: String = "D-CARD", diagnosis: String = "I21.0"
    ) async throws -> String {
        try await node.crm.encounters.record(
            ward == Staff.visitor.wardId ? Staff.visitor : Staff.manager,
            EncounterInput(
                patientId: patient, kind: "inpatient", departmentId: department, wardId: ward,
                doctorId: "DR-1", diagnosisCode: diagnosis, admittedAt: at, hisId: his))
    }

    func tasks(_ node: TestNode, _ encounter: String) async throws -> [FollowUpTask] {
        try await node.crm.patients.archive(Staff.manager, patientId: node.crm.encounters.encounter(encounter).patientId).tasks
            .filter { $0.encounterId == encounter }.sorted { ($0.dueDate, $0.kind) < ($1.dueDate, $1.kind) }
    }

    @Test func anAdmissionProducesABedsideVisitDueWithin24HoursAndADischargeACallWithin72Hours() async throws {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        let encounter = try await admit(node, try node.patient("病人甲"))
        var produced = try await tasks(node, encounter)
        #expect(produced.map(\.kind) == ["bedside24h"])
        #expect(produced[0].dueDate == "2026-11-20")
        #expect(produced[0].dueBy == "2026-11-21T08:00:00+08:00")
        #expect(produced[0].wardId == "W-CARD")
        try await node.crm.encounters.discharge(Staff.visitor, encounterId: encounter, at: "2026-11-22T15:30:00Z", status: .improved)
        produced = try await tasks(node, encounter)
        let call = try #require(produced.first { $0.kind == "discharge72h" })
        #expect(call.dueBy == "2026-11-25T23:30:00+08:00")
        #expect(call.dueDate == "2026-11-23", "discharged 22nd 23:30 local: called from the next day")
        await #expect(throws: CRMError.self) { try await node.crm.encounters.discharge(Staff.visitor, encounterId: encounter, at: "2026-11-23T00:00:00Z", status: .cured) }
    }

    /// A ward gateway records an admission, its discharge and a bedside survey offline: every id
    /// it creates is bound to the ward, or to itself for append-only rows (``BoundRowID``), so
    /// central accepts all of it; the same HIS
    /// encounter recorded again (HIS resends it, with the ward it is in now) is the same encounter.
    @Test func aWardGatewaysAdmissionsTasksAndSurveysCarryBoundIds() async throws {
        let wards: [UInt64: Set<String>] = [2: ["W-CARD"]]
        let central = try TestNode(1, wardNodes: wards), ward = try TestNode(2, wardNodes: wards)
        try await central.seedOrganisation()
        let patient = try await central.patient("病人甲")
        try central.sync(with: ward)
        let encounter = try await admit(ward, patient, his: "ZY-77")
        #expect(encounter == "his-ZY-77~W-CARD")
        try await ward.crm.encounters.discharge(Staff.visitor, encounterId: encounter, at: "2026-11-22T10:00:00+08:00", status: .improved)
        let response = try await ward.crm.surveys.submit(Staff.visitor, bedsideSubmission("01JWARDGATEWAY0000000001", patient: patient, overall: 5, nps: 9))
        #expect(response.id == "01JWARDGATEWAY0000000001~0000000000000002~", "an append-only row: bound to the node")
        await #expect(try ward.crm.surveys.submit(Staff.visitor, bedsideSubmission("01JWARDGATEWAY0000000001", patient: patient, overall: 5, nps: 9)).created == false)
        let made = try await tasks(ward, encounter)
        #expect(made.count == 2 && made.allSatisfy { BoundRowID.ward(of: $0.id) == "W-CARD" })
        try ward.send(to: central)
        #expect(try central.replica.quarantines().isEmpty)
        await #expect(try tasks(central, encounter).map(\.id) == made.map(\.id))
        // HIS resends it with the ward the patient moved to: the same encounter, once the transfer is recorded.
        try await central.crm.encounters.cancelDischarge(.system, encounterId: encounter)
        try await central.crm.encounters.transfer(.system, encounterId: encounter, toWardId: "W-ORTH", toDepartmentId: "D-ORTH", at: nil)
        await #expect(try admit(central, patient, his: "ZY-77", ward: "W-ORTH", department: "D-ORTH") == encounter)
    }

    @Test func fixedOffsetRulesFilterByDepartmentDiagnosisStayAndDischargeStatus() async throws {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        let rule = try await node.crm.followUps.saveRule(
            Staff.manager,
            FollowUpRule(
                name: "心梗出院随访", kind: .fixedOffset, triggerEvent: .discharge, offsets: [1, 3, 7, 30],
                filter: RuleFilter(departments: ["D-CARD"], diagnosisPrefixes: ["I21"], minStayDays: 2, dischargeStatuses: [.improved, .cured])))
        let periodic = try await node.crm.followUps.saveRule(
            Staff.manager,
            FollowUpRule(
                name: "骨科每月随访", kind: .periodic, triggerEvent: .discharge, intervalDays: 30, repeatCount: 3, filter: RuleFilter(wards: ["W-ORTH"])))
        let matching = try await admit(node, try node.patient("甲"))
        let shortStay = try await admit(node, try node.patient("乙"), at: "2026-11-22T08:00:00+08:00")
        let otherDiagnosis = try await admit(node, try node.patient("丙"), diagnosis: "J18.9")
        let died = try await admit(node, try node.patient("丁"))
        let orthopaedic = try await admit(node, try node.patient("戊"), ward: "W-ORTH", department: "D-ORTH", diagnosis: "S72.0")
        for (encounter, status) in [(matching, DischargeStatus.improved), (shortStay, .improved), (otherDiagnosis, .improved), (died, .died), (orthopaedic, .cured)] {
            try await node.crm.encounters.discharge(Staff.manager, encounterId: encounter, at: "2026-11-23T10:00:00+08:00", status: status)
        }
        await #expect(try tasks(node, matching).filter { $0.ruleId == rule }.map(\.dueDate) == ["2026-11-24", "2026-11-26", "2026-11-30", "2026-12-23"])
        await #expect(try tasks(node, shortStay).filter { $0.ruleId == rule }.isEmpty)
        await #expect(try tasks(node, otherDiagnosis).filter { $0.ruleId == rule }.isEmpty)
        await #expect(try tasks(node, died).filter { $0.ruleId == rule }.isEmpty)
        await #expect(try tasks(node, orthopaedic).filter { $0.ruleId == periodic }.map(\.dueDate) == ["2026-12-23", "2027-01-22", "2027-02-21"])
        // Applying a rule again later makes nothing new.
        await #expect(try node.crm.followUps.applyRule(Staff.manager, ruleId: rule, since: "2026-11-01") == 0)
        let preview = try await node.crm.followUps.previewRule(Staff.manager, try #require(node.crm.followUps.rules().first { $0.id == rule }), since: "2026-11-01")
        #expect(preview.encounters == 1)
        #expect(preview.tasks == 4)
    }

    @Test func cancellingADischargeOrAnAdmissionWithdrawsItsTasks() async throws {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        _ = try await node.crm.followUps.saveRule(Staff.manager, FollowUpRule(name: "all", kind: .fixedOffset, triggerEvent: .discharge, offsets: [7]))
        let encounter = try await admit(node, try node.patient("甲"))
        try await node.crm.encounters.discharge(Staff.manager, encounterId: encounter, at: "2026-11-22T10:00:00+08:00", status: .improved)
        try await node.crm.encounters.cancelDischarge(Staff.manager, encounterId: encounter)
        var all = try await tasks(node, encounter)
        #expect(all.filter { $0.kind != "bedside24h" }.allSatisfy { $0.withdrawn })
        #expect(all.filter { $0.kind == "bedside24h" }.allSatisfy { !$0.withdrawn })
        await #expect(try node.crm.encounters.encounter(encounter).dischargedAt == nil)
        // Discharged again later: new tasks, the withdrawn ones stay withdrawn.
        try await node.crm.encounters.discharge(Staff.manager, encounterId: encounter, at: "2026-11-23T10:00:00+08:00", status: .improved)
        all = try await tasks(node, encounter)
        #expect(all.filter { $0.kind == "discharge72h" && !$0.withdrawn }.count == 1)
        try await node.crm.encounters.cancel(Staff.manager, encounterId: encounter)
        await #expect(try tasks(node, encounter).allSatisfy { $0.withdrawn || $0.doneAt != nil })
        await #expect(try node.crm.followUps.queue(Staff.manager, day: "2026-12-31", page: PageRequest()).items.isEmpty)
    }

    @Test func theSameHISEncounterRecordedOnTwoNodesGivesOneSetOfTasks() async throws {
        let a = try TestNode(1), b = try TestNode(2)
        try await a.seedOrganisation()
        let patient = try await a.patient("甲")
        try a.sync(with: b)
        let ea = try await admit(a, patient, his: "ZY2026-0001")
        let eb = try await admit(b, patient, his: "ZY2026-0001")
        #expect(ea == eb)
        try await a.crm.encounters.discharge(.system, encounterId: ea, at: "2026-11-22T10:00:00+08:00", status: .cured)
        try await b.crm.encounters.discharge(.system, encounterId: eb, at: "2026-11-22T10:00:00+08:00", status: .cured)
        try a.sync(with: b)
        await #expect(try tasks(a, ea).count == 2)
        await #expect(try tasks(b, ea).map(\.id) == tasks(a, ea).map(\.id))
        try a.sync(with: b)  // reading the archives audited the reads on each node
        #expect(try a.replica.canonicalDump() == b.replica.canonicalDump())
    }

    @Test func todaysQueueShowsDueAndOverdueTasksAndVisitorsSeeTheirWardOnly() async throws {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        let cardiac = try await admit(node, try node.patient("甲"), at: "2026-11-21T08:00:00+08:00")
        _ = try await admit(node, try node.patient("乙"), at: "2026-11-23T08:30:00+08:00", ward: "W-ORTH", department: "D-ORTH")
        try await node.crm.encounters.discharge(Staff.manager, encounterId: cardiac, at: "2026-11-22T09:00:00+08:00", status: .improved)
        let later = try await node.crm.followUps.createTask(Staff.agent, patientId: try node.patient("丙"), dueDate: "2026-11-30", note: "复查提醒", templateId: nil)
        let agentQueue = try await node.crm.followUps.queue(Staff.agent, page: PageRequest())
        #expect(agentQueue.items.map(\.task.kind).sorted() == ["bedside24h", "bedside24h", "discharge72h"])
        #expect(!agentQueue.items.contains { $0.task.id == later })
        let overdue = try #require(agentQueue.items.first { $0.task.kind == "bedside24h" && $0.task.wardId == "W-CARD" })
        #expect(overdue.overdue, "admitted 21st 08:00, due by 22nd 08:00, now 23rd 09:00")
        let visitorQueue = try await node.crm.followUps.queue(Staff.visitor, page: PageRequest())
        #expect(visitorQueue.items.map(\.task.wardId) == ["W-CARD"])
        let ward = try await node.crm.encounters.wardPatients(Staff.visitor, wardId: "W-CARD")
        #expect(ward.isEmpty, "the cardiac patient was discharged")
        await #expect(throws: CRMError.self) { try await node.crm.encounters.wardPatients(Staff.visitor, wardId: "W-ORTH") }
        // Paging: one at a time gives the same three.
        var seen: [String] = []
        var after: String?
        repeat {
            let page = try await node.crm.followUps.queue(Staff.agent, page: PageRequest(after: after, limit: 1))
            seen += page.items.map(\.task.id)
            after = page.next
        } while after != nil
        #expect(seen == agentQueue.items.map(\.task.id))
    }

    @Test func twoAgentsClaimingOneTaskOnOneNodeTheSecondIsRefused() async throws {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        let task = try await node.crm.followUps.createTask(Staff.manager, patientId: try node.patient("甲"), dueDate: "2026-11-23", note: nil, templateId: nil)
        _ = try await node.crm.followUps.claim(Staff.agent, taskId: task)
        await #expect(throws: CRMError(.conflict, "task '\(task)' is already claimed by 'agent1'")) { try await node.crm.followUps.claim(Staff.agent2, taskId: task) }
        await #expect(throws: CRMError.self) { try await node.crm.followUps.record(Staff.agent2, taskId: task, outcome: .reached, note: nil, nextAction: nil) }
    }

    @Test func twoAgentsOnTwoNodesClaimingAtOnceTheFirstClaimWinsAndTheOtherSeesItLost() async throws {
        let a = try TestNode(1), b = try TestNode(2, clock: TestClock(date: Date(timeIntervalSince1970: 1_795_395_601)))
        try await a.seedOrganisation()
        let task = try await a.crm.followUps.createTask(Staff.manager, patientId: try a.patient("甲"), dueDate: "2026-11-23", note: nil, templateId: nil)
        try a.sync(with: b)
        _ = try await a.crm.followUps.claim(Staff.agent, taskId: task)  // earlier by clock
        _ = try await b.crm.followUps.claim(Staff.agent2, taskId: task)
        try a.sync(with: b)
        await #expect(try a.crm.followUps.task(task).claimedBy == "agent1")
        await #expect(try b.crm.followUps.task(task).claimedBy == "agent1")
        await #expect(try b.crm.followUps.lostClaims(Staff.agent2).map(\.taskId) == [task])
        await #expect(try b.crm.followUps.lostClaims(Staff.agent2).first?.winner == "agent1")
        await #expect(try a.crm.followUps.lostClaims(Staff.agent).isEmpty)
    }

    @Test func recordingOutcomesClosesTasksOrReschedulesANoAnswer() async throws {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        let patient = try await node.patient("甲")
        let task = try await node.crm.followUps.createTask(Staff.manager, patientId: patient, dueDate: "2026-11-23", note: nil, templateId: nil)
        _ = try await node.crm.followUps.record(Staff.agent, taskId: task, outcome: .noAnswer, note: "无人接", nextAction: "明天再打", retryOn: "2026-11-24")
        var state = try await node.crm.followUps.task(task)
        #expect(state.doneAt == nil && state.attempts == 1 && state.dueDate == "2026-11-24" && state.claimedBy == "agent1")
        _ = try await node.crm.followUps.record(Staff.agent, taskId: task, outcome: .reached, note: nil, nextAction: nil)
        state = try await node.crm.followUps.task(task)
        #expect(state.doneAt != nil && state.attempts == 2 && state.outcome == "reached")
        await #expect(try node.crm.patients.archive(Staff.agent, patientId: patient).followUpRecords.count == 2)
        await #expect(throws: CRMError.self) { try await node.crm.followUps.record(Staff.agent, taskId: task, outcome: .reached, note: nil, nextAction: nil) }
    }
}
