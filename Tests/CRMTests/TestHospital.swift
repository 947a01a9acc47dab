import CRMDomain
import Foundation
import GRDB
import Replica
import Sodium
import Synchronization
import TestSupport

/// The repository's `conflict-policies/`.
let repositoryPolicies = RepositoryFiles.policies

/// A node of a small test hospital: an in-memory replica with the real policies and a CRM on it.
struct TestNode {
    let replica: Replica
    let crm: CRM
    let clock: TestClock

    /// Node `node`; ward nodes (a node id and its wards) as `wardNodes` says, call centers as
    /// `callCenters` says, every other node central.
    init(
        _ node: UInt64, clock: TestClock = TestClock(date: TestClock.hospitalMorning), wardNodes: [UInt64: Set<String>] = [:],
        callCenters: Set<UInt64> = []
    ) throws {
        self.clock = clock
        var configuration = ReplicaConfiguration(nodeID: NodeID(node), policies: repositoryPolicies, wallClock: clock, rowIDSeed: node)
        let wards = Dictionary(uniqueKeysWithValues: wardNodes.map { (NodeID($0.key), $0.value) })
        var roles = wards.mapValues { _ in NodeRole.ward }
        for id in callCenters { roles[NodeID(id)] = .callcenter }
        configuration.authority = SharedSecretTrust(nodeID: NodeID(node), roles: roles, wards: wards)
        replica = try Replica.inMemory(configuration: configuration)
        crm = try CRM(replica: replica, now: { clock.current }, passwordStrength: .minimum)
    }

    /// Sends everything `other` lacks from this node, as the sync protocol would.
    func send(to other: TestNode) throws {
        var cursor: ChangeCursor?
        let since = try other.replica.versionVector()
        repeat {
            let (batch, next) = try replica.changes(since: since, after: cursor, maxChanges: 500)
            try other.replica.apply(ChangeBatch(decoding: batch.encoded()))
            cursor = next
        } while cursor != nil
    }

    /// Both ways.
    func sync(with other: TestNode) throws {
        try send(to: other)
        try other.send(to: self)
    }
}

/// Callers of each role.
enum Staff {
    static let visitor = Caller(userId: "visitor1", role: .visitor, wardId: "W-CARD")
    static let agent = Caller(userId: "agent1", role: .agent)
    static let agent2 = Caller(userId: "agent2", role: .agent)
    static let manager = Caller(userId: "manager1", role: .manager)
    static let admin = Caller(userId: "admin1", role: .admin)
}

extension TestNode {
    /// Departments, wards, the cardiology discharge rule (days 1, 3, 7, 30) and a bedside template.
    func seedOrganisation() async throws {
        for (id, name) in [("D-CARD", "心内科"), ("D-ORTH", "骨科")] {
            try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: id, name: name))
        }
        try await crm.organisation.saveReference(.system, .ward, ReferenceItem(id: "W-CARD", name: "心内一病区", departmentId: "D-CARD"))
        try await crm.organisation.saveReference(.system, .ward, ReferenceItem(id: "W-ORTH", name: "骨科病区", departmentId: "D-ORTH"))
        _ = try await crm.surveys.saveTemplate(.system, id: "bedside", name: "入院床边探访", purpose: "bedside", diseaseCode: nil, definition: bedsideDefinition)
    }

    /// Creates a patient with a phone number.
    func patient(_ name: String, phone: String = "13800138000", birthDate: String = "1960-05-01", idNumber: String? = nil) async throws -> String {
        try await crm.patients.create(Staff.agent, PatientInput(name: name, gender: "female", birthDate: birthDate, idNumber: idNumber, phone: phone))
    }
}

let bedsideDefinition = SurveyDefinition(questions: [
    .init(id: "overall", text: "总体满意度", type: .scale5, required: true, role: .overall),
    .init(id: "nps", text: "推荐意愿", type: .nps, required: true, role: .recommend),
    .init(id: "complained", text: "是否有不满", type: .single, options: [.init(value: "yes", label: "有"), .init(value: "no", label: "无")], required: true),
    .init(
        id: "what", text: "哪些方面", type: .multiple, options: [.init(value: "food", label: "伙食"), .init(value: "noise", label: "噪音"), .init(value: "staff", label: "服务")],
        required: true, showIf: .init(question: "complained", equals: ["yes"])),
    .init(id: "comment", text: "意见建议", type: .text, maxLength: 200),
])

/// A submission for the bedside template.
func bedsideSubmission(
    _ id: String, patient: String, overall: Int, nps: Int, mode: SurveyMode = .bedside, ward: String = "W-CARD",
    at: String = "2026-11-23T10:00:00+08:00"
) -> SurveySubmission {
    SurveySubmission(
        id: id, templateId: "bedside", templateVersion: 1, patientId: patient, wardId: ward, departmentId: "D-CARD", mode: mode,
        submittedAt: at, answers: ["overall": .number(Double(overall)), "nps": .number(Double(nps)), "complained": .string("no")])
}
