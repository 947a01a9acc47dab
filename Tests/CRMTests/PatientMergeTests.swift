import CRMDomain
import Foundation
import GRDB
import Replica
import TestSupport
import Testing

@Suite("Patient archive: merge and undo across nodes")
struct PatientMergeTests {
    @Test func recordsOfAMergedPatientShowUnderTheSurvivorAndUndoRestoresBoth() async throws {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        let survivor = try await node.patient("王芳")
        let merged = try await node.patient("王芳", phone: "139 0000 1111")
        _ = try await node.crm.surveys.submit(Staff.agent, bedsideSubmission("01JRESPONSE0000000000001", patient: merged, overall: 5, nps: 10))
        let merge = try await node.crm.patients.merge(Staff.manager, survivorId: survivor, mergedId: merged, reason: "same person")

        let archive = try await node.crm.patients.archive(Staff.agent, patientId: survivor)
        #expect(archive.mergedPatients.map(\.id) == [merged])
        #expect(archive.surveyResponses.map(\.id) == ["01JRESPONSE0000000000001~W-CARD"])
        let redirected = try await node.crm.patients.archive(Staff.agent, patientId: merged)
        #expect(redirected.patient.id == survivor)
        #expect(redirected.redirectedFrom == merged)
        await #expect(try node.crm.patients.search(Staff.agent, query: "王芳", page: PageRequest()).items.map(\.id) == [survivor])

        try await node.crm.patients.undoMerge(Staff.manager, mergeId: merge)
        await #expect(try node.crm.patients.archive(Staff.agent, patientId: survivor).surveyResponses.isEmpty)
        await #expect(try node.crm.patients.archive(Staff.agent, patientId: merged).surveyResponses.count == 1)
        await #expect(try node.crm.patients.archive(Staff.agent, patientId: merged).patient.id == merged)
        await #expect(throws: CRMError.self) { try await node.crm.patients.undoMerge(Staff.manager, mergeId: merge) }
    }

    @Test func aWardWritingOfflineToAMergedAwayPatientShowsUnderTheSurvivorEverywhere() async throws {
        let central = try TestNode(1), ward = try TestNode(2)
        try await central.seedOrganisation()
        let survivor = try await central.patient("李雷")
        let duplicate = try await central.patient("李雷", phone: "13700000000")
        try central.sync(with: ward)
        // Central merges while the ward is cut off and still capturing surveys for the duplicate.
        _ = try await central.crm.patients.merge(Staff.manager, survivorId: survivor, mergedId: duplicate, reason: nil)
        _ = try await ward.crm.surveys.submit(Staff.agent, bedsideSubmission("01JOFFLINE00000000000001", patient: duplicate, overall: 4, nps: 8))
        let task = try await ward.crm.followUps.createTask(Staff.agent, patientId: duplicate, dueDate: "2026-11-24", note: nil, templateId: nil)
        try central.sync(with: ward)
        for node in [central, ward] {
            let archive = try await node.crm.patients.archive(Staff.agent, patientId: duplicate)
            #expect(archive.patient.id == survivor)
            #expect(archive.surveyResponses.map(\.id) == ["01JOFFLINE00000000000001~W-CARD"])
            #expect(archive.tasks.map(\.id) == [task])
        }
    }

    @Test func aMergeAndItsUndoMadeOnDifferentNodesConverge() async throws {
        let a = try TestNode(1), b = try TestNode(2), c = try TestNode(3)
        try await a.seedOrganisation()
        let p1 = try await a.patient("张三"), p2 = try await a.patient("张三", phone: "13600000000")
        let merge = try await a.crm.patients.merge(Staff.manager, survivorId: p1, mergedId: p2, reason: nil)
        try a.sync(with: b)
        try await b.crm.patients.undoMerge(Staff.manager, mergeId: merge)
        // c hears the undo before the merge's other columns settle: order must not matter.
        try b.send(to: c)
        try a.send(to: c)
        try a.sync(with: b)
        try c.sync(with: a)
        for node in [a, b, c] {
            await #expect(try node.crm.patients.mergeGraph().root(of: p2) == p2)
            await #expect(try node.crm.patients.archive(Staff.agent, patientId: p2).patient.id == p2)
        }
    }

    @Test func twoConcurrentMergesOfOnePatientAndACycleResolveTheSameEverywhere() async throws {
        let a = try TestNode(1), b = try TestNode(2)
        try await a.seedOrganisation()
        let x = try await a.patient("赵六"), y = try await a.patient("赵六", phone: "13500000000"), z = try await a.patient("赵六", phone: "13400000000")
        try a.sync(with: b)
        _ = try await a.crm.patients.merge(Staff.manager, survivorId: y, mergedId: x, reason: nil)
        a.clock.advance(hours: 0.001)
        _ = try await b.crm.patients.merge(Staff.manager, survivorId: z, mergedId: x, reason: nil)
        // And a cycle: y into z on a, z into y on b.
        _ = try await a.crm.patients.merge(Staff.manager, survivorId: z, mergedId: y, reason: nil)
        _ = try await b.crm.patients.merge(Staff.manager, survivorId: y, mergedId: z, reason: nil)
        try a.sync(with: b)
        let graphA = try await await a.crm.patients.mergeGraph(), graphB = try await b.crm.patients.mergeGraph()
        #expect(graphA.parent == graphB.parent)
        #expect(graphA.skipped == graphB.skipped)
        let roots = Set([x, y, z].map(graphA.root(of:)))
        #expect(roots.count == 1, "all three end in one archive, without a cycle")
        #expect(!graphA.skipped.isEmpty)
    }

    /// Random merges and undos on three nodes, exchanged in random order: every node ends with the
    /// same merge graph (law: convergence). Seeded; the seed is printed on failure.
    @Test(arguments: 0..<12) func mergeGraphsConvergeUnderRandomOrders(seed: UInt64) async throws {
        var random = SplitMix64(seed: seed)
        let nodes = try (1...3).map { try TestNode(UInt64($0)) }
        try await nodes[0].seedOrganisation()
        let patients = try await (0..<6).asyncMap { try await nodes[0].patient("患者\($0)", phone: "1380000000\($0)") }
        for node in nodes.dropFirst() { try nodes[0].send(to: node) }
        for _ in 0..<30 {
            let node = nodes[Int(random.next() % 3)]
            node.clock.advance(hours: 0.01)
            switch random.next() % 4 {
            case 0, 1:
                let survivor = patients[Int(random.next() % 6)], merged = patients[Int(random.next() % 6)]
                _ = try? await node.crm.patients.merge(Staff.manager, survivorId: survivor, mergedId: merged, reason: nil)
            case 2:
                let merges = try await node.replica.reader.read { db in try String.fetchAll(db, sql: "SELECT id FROM patientMerge WHERE undone = 0") }
                if let merge = merges.randomElement(using: &random) { try await node.crm.patients.undoMerge(Staff.manager, mergeId: merge) }
            default:
                let other = nodes[Int(random.next() % 3)]
                try node.send(to: other)
            }
        }
        for _ in 0..<2 { for a in nodes { for b in nodes where a.replica.nodeID != b.replica.nodeID { try a.send(to: b) } } }
        let graphs = try await nodes.asyncMap { try await $0.crm.patients.mergeGraph() }
        #expect(graphs.allSatisfy { $0.parent == graphs[0].parent }, "seed \(seed)")
        for patient in patients {
            let archives = try await nodes.asyncMap { try await $0.crm.patients.archive(Staff.agent, patientId: patient).patient.id }
            #expect(Set(archives).count == 1, "seed \(seed)")
        }
    }

    @Test func duplicateCandidatesFindTheSameIDNumberAndTheSameNameBirthDateAndPhone() async throws {
        let node = try TestNode(1)
        let a = try await node.patient("陈一", idNumber: "350102196005011234")
        let b = try await node.patient("陈一一", phone: "13900000000", idNumber: "350102196005011234")
        let c = try await node.patient("林二", phone: "13911112222")
        let d = try await node.patient("林二", phone: "139-1111-2222")
        _ = try await node.patient("林二", phone: "13911112222", birthDate: "1970-01-01")
        let groups = try await node.crm.patients.duplicateCandidates(Staff.manager)
        #expect(groups.contains { $0.reason == "idNumber" && Set($0.patientIds) == [a, b] })
        #expect(groups.contains { $0.reason == "nameBirthDatePhone" && Set($0.patientIds) == [c, d] })
        _ = try await node.crm.patients.merge(Staff.manager, survivorId: a, mergedId: b, reason: nil)
        await #expect(try !node.crm.patients.duplicateCandidates(Staff.manager).contains { $0.reason == "idNumber" })
        await #expect(throws: CRMError.self) { try await node.crm.patients.duplicateCandidates(Staff.agent) }
    }

    @Test func concurrentPhoneEditsAreKeptBothUntilAManagerResolves() async throws {
        let a = try TestNode(1), b = try TestNode(2)
        let id = try await a.patient("周七")
        try a.sync(with: b)
        try await a.crm.patients.update(Staff.agent, id: id, PatientInput(phone: "13811110000"))
        try await b.crm.patients.update(Staff.agent, id: id, PatientInput(phone: "13822220000"))
        try a.sync(with: b)
        let inbox = try a.crm.patients.conflictInbox(Staff.manager)
        #expect(inbox.count == 1)
        #expect(Set(inbox[0].values) == ["13811110000", "13822220000"])
        await #expect(try a.crm.patients.archive(Staff.agent, patientId: id).openConflicts.count == 1)
        try await a.crm.patients.resolveConflict(Staff.manager, table: "patient", rowId: id, column: "phone", value: "13822220000")
        try a.sync(with: b)
        #expect(try b.crm.patients.conflictInbox(Staff.manager).isEmpty)
        await #expect(try b.crm.patients.patient(id).phone == "13822220000")
    }
}
