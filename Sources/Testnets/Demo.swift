import CRMDomain
import Foundation
import GRDB
import NodeHTTP
import NodeRuntime
import Replica

/// `suifang demo replicas`: three replicas (central, a ward, a call center) in one process,
/// working offline and then converging through encoded change batches.
package struct DemoReplicas {
    package var policies: PolicyDirectory

    package var directory: String

    package var surveys: Int

    package init(policies: PolicyDirectory, directory: String, surveys: Int) {
        self.policies = policies
        self.directory = directory
        self.surveys = surveys
    }

    package func run() async throws {
        let policySet = try policies.load()
        let folder = URL(fileURLWithPath: directory)
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func open(_ name: String) throws -> DemoNode {
            let replica = try Replica.open(
                at: folder.appendingPathComponent("\(name).sqlite").path,
                configuration: ReplicaConfiguration(policies: policySet))
            return DemoNode(name: name, crm: try CRM(replica: replica))
        }
        let central = try open("central"), ward = try open("ward-5a"), callCenter = try open("callcenter")
        let nodes = [central, ward, callCenter]
        print("Suifang demo: policy hash \(policySet.contentHash.prefix(16))…, replicas in \(folder.path)/")
        // Every change goes through the domain, as users make them: checked, audited, replicated.
        let manager = Caller(userId: "manager-chen", role: .manager), visitor = Caller(userId: "visitor-1", role: .visitor, wardId: "W-5A")
        let agentLi = Caller(userId: "agent-li", role: .agent), agentWang = Caller(userId: "agent-wang", role: .agent)

        // Day 0: central sets up a ward and a bedside survey, registers a patient, a complaint and
        // a follow-up task; everyone syncs.
        try await central.crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-CARD", name: "心内科"))
        try await central.crm.organisation.saveReference(.system, .ward, ReferenceItem(id: "W-5A", name: "5A 病区", departmentId: "D-CARD"))
        let questions = SurveyDefinition(questions: [
            .init(id: "overall", text: "总体满意度", type: .scale5, required: true, role: .overall),
            .init(id: "nps", text: "推荐意愿", type: .nps, required: true, role: .recommend),
        ])
        _ = try await central.crm.surveys.saveTemplate(.system, id: "inpatient", name: "住院满意度", purpose: "bedside", diseaseCode: nil, definition: questions)
        let patient = try await central.crm.patients.create(
            agentLi, PatientInput(name: "demo patient", phone: "13800000000", region: "Gulou", tags: ["diabetes"]))
        let complaint = try await central.crm.complaints.register(agentLi, ComplaintInput(patientId: patient, departmentId: "D-CARD", summary: "demo complaint"))
        let task = try await central.crm.followUps.createTask(manager, patientId: patient, dueDate: "2026-11-26", note: nil, templateId: nil)
        try syncAll(nodes)
        print("\nday 0   all linked and converged:")
        try report(nodes)

        // The ward loses its link. Everyone keeps working.
        for index in 0..<surveys {
            let id = "01DEMOWARD" + String(format: "%014d", index)
            _ = try await ward.crm.surveys.submit(
                visitor,
                SurveySubmission(
                    id: id, templateId: "inpatient", templateVersion: 1, patientId: patient, wardId: "W-5A", departmentId: "D-CARD",
                    mode: .bedside, submittedAt: "2026-11-23T09:\(String(format: "%02d", index % 60)):00+08:00",
                    answers: ["overall": .number(Double(1 + index % 5)), "nps": .number(Double(index % 11))]))
        }
        try await ward.crm.patients.update(manager, id: patient, PatientInput(phone: "13911111111", tags: ["diabetes", "post-surgery"]))
        try await callCenter.crm.patients.update(agentLi, id: patient, PatientInput(phone: "13722222222", tags: []))
        try await central.crm.complaints.advance(manager, id: complaint, to: .handled, note: "handled at central")
        try await callCenter.crm.complaints.advance(agentLi, id: complaint, to: .accepted, note: "accepted at the call center")
        _ = try await callCenter.crm.followUps.claim(agentLi, taskId: task)
        _ = try await central.crm.followUps.claim(agentWang, taskId: task)
        print(
            "\nday 1-7 ward offline: \(surveys) bedside surveys captured on the ward; phone edited on ward and call center; complaint moved on two nodes; two agents claimed one task:"
        )
        try report(nodes)

        // The link returns: anti-entropy, each node sends only what the other lacks.
        let bytes = try syncAll(nodes)
        print("\nday 8   link back, one anti-entropy round (\(bytes) bytes of change batches):")
        try report(nodes)
        let conflicts = try central.replica.openConflicts()
        for conflict in conflicts {
            print("  open conflict on \(conflict.table).\(conflict.column): \(conflict.candidates.count) values kept for a person to choose")
        }
        let complaintState = try await central.crm.complaints.complaint(complaint).status.rawValue
        let claim = try await central.crm.followUps.task(task).claimedBy ?? "nobody"
        let tags = try await central.crm.patients.patient(patient).tags
        print("  complaint status (lifecycle keeps the furthest): \(complaintState)")
        print("  task claimed by (first writer wins): \(claim); lost claims reported: \(try nodes.map { try $0.replica.lostWrites().count }.reduce(0, +))")
        print("  patient tags (add wins): \(tags.sorted())")

        // A manager resolves the phone conflict at central; the resolution replicates.
        try await central.crm.patients.resolveConflict(manager, table: "patient", rowId: patient, column: "phone", value: "13911111111")
        try syncAll(nodes)
        print("\nday 8   conflict resolved at central and synced:")
        try report(nodes)
        let dumps = try Set(nodes.map { try $0.replica.canonicalDump() })
        guard dumps.count == 1, try central.replica.openConflicts().isEmpty else {
            throw NodeSetupError("replicas did not converge")
        }
        print("\nconverged: all three replicas hold identical rows, tombstones and version vectors.")
    }

    /// Pairwise anti-entropy until quiet; returns the bytes of batches exchanged.
    @discardableResult
    private func syncAll(_ nodes: [DemoNode]) throws -> Int {
        var bytes = 0
        for _ in 0..<2 {
            for source in nodes {
                for target in nodes where source !== target {
                    var cursor: ChangeCursor?
                    let since = try target.replica.versionVector()
                    repeat {
                        let page = try source.replica.changes(since: since, after: cursor)
                        if !page.batch.isEmpty {
                            let encoded = page.batch.encoded()
                            bytes += encoded.count
                            try target.replica.apply(ChangeBatch(decoding: encoded))
                        }
                        cursor = page.next
                    } while cursor != nil
                }
            }
        }
        return bytes
    }

    private func report(_ nodes: [DemoNode]) throws {
        for node in nodes {
            let stats = try node.replica.statistics()
            let digest = try node.replica.canonicalDump().text.utf8.reduce(into: UInt64(1469598103934665603)) { $0 = ($0 ^ UInt64($1)) &* 1099511628211 }
            print(
                "  \(node.name.padding(toLength: 11, withPad: " ", startingAt: 0)) surveys=\(stats.rows["surveyResponse"] ?? 0) "
                    + "conflicts=\(try node.replica.openConflicts().count) commits=\(try node.replica.versionVector().total) state=\(String(digest, radix: 16).prefix(8))")
        }
    }
}

package final class DemoNode {
    package let name: String
    package let crm: CRM
    package var replica: Replica { crm.replica }

    package init(name: String, crm: CRM) {
        self.name = name
        self.crm = crm
    }
}
