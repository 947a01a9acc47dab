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

    package func run() throws {
        let policySet = try policies.load()
        let folder = URL(fileURLWithPath: directory)
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func open(_ name: String) throws -> DemoNode {
            let replica = try Replica.open(
                at: folder.appendingPathComponent("\(name).sqlite").path,
                configuration: ReplicaConfiguration(policies: policySet))
            return DemoNode(name: name, replica: replica)
        }
        let central = try open("central"), ward = try open("ward-5a"), callCenter = try open("callcenter")
        let nodes = [central, ward, callCenter]
        print("Suifang demo: policy hash \(policySet.contentHash.prefix(16))…, replicas in \(folder.path)/")

        // Day 0: central registers a patient, a complaint and a follow-up task; everyone syncs.
        let patient = try central.replica.write { tx in
            try tx.insert(
                into: "patient",
                values: [
                    "name": "demo patient", "phone": "13800000000", "region": "Gulou",
                    "tags": SetCodec.encode(["diabetes"]),
                ])
        }
        let complaint = try central.replica.write { tx in
            try tx.insert(into: "complaint", values: ["patientId": patient, "departmentId": "cardiology", "status": ComplaintStatus.registered.rawValue])
        }
        let task = try central.replica.write { tx in
            try tx.insert(into: "followUpTask", values: ["patientId": patient, "kind": "discharge72h", "dueDate": "2026-11-26", "attempts": 0])
        }
        try syncAll(nodes)
        print("\nday 0   all linked and converged:")
        try report(nodes)

        // The ward loses its link. Everyone keeps working.
        for index in 0..<surveys {
            try ward.replica.write { tx in
                try tx.insert(
                    into: "surveyResponse",
                    values: [
                        "templateId": "inpatient-v3", "templateVersion": 3, "patientId": patient, "wardId": "5A",
                        "mode": SurveyMode.bedside.rawValue, "staffId": "visitor-\(index % 4)", "nodeId": "ward-5a",
                        "submittedAt": "2026-11-23T09:\(String(format: "%02d", index % 60)):00+08:00",
                        "answers": "{\"nps\":\(index % 11)}",
                    ])
            }
        }
        try ward.replica.write { try $0.update("patient", id: patient, set: ["phone": "13911111111"]) }
        try callCenter.replica.write { try $0.update("patient", id: patient, set: ["phone": "13722222222"]) }
        try central.replica.write { try $0.update("complaint", id: complaint, set: ["status": ComplaintStatus.handled.rawValue]) }
        try callCenter.replica.write { try $0.update("complaint", id: complaint, set: ["status": ComplaintStatus.accepted.rawValue]) }
        try callCenter.replica.write { try $0.update("followUpTask", id: task, set: ["claimedBy": "agent-li", "attempts": 1]) }
        try central.replica.write { try $0.update("followUpTask", id: task, set: ["claimedBy": "agent-wang", "attempts": 2]) }
        try ward.replica.write { try $0.addElement("post-surgery", to: "tags", of: "patient", id: patient) }
        try callCenter.replica.write { try $0.removeElement("diabetes", from: "tags", of: "patient", id: patient) }
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
        let complaintState = try central.value("complaint", complaint, "status")
        let claim = try central.value("followUpTask", task, "claimedBy")
        let tags = try central.value("patient", patient, "tags")
        print("  complaint status (lifecycle keeps the furthest): \(complaintState)")
        print("  task claimed by (first writer wins): \(claim); lost claims reported: \(try nodes.map { try $0.replica.lostWrites().count }.reduce(0, +))")
        print("  patient tags (add wins): \(tags)")

        // A manager resolves the phone conflict at central; the resolution replicates.
        try central.replica.write { try $0.update("patient", id: patient, set: ["phone": "13911111111"]) }
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
            let digest = try node.replica.canonicalDump().utf8.reduce(into: UInt64(1469598103934665603)) { $0 = ($0 ^ UInt64($1)) &* 1099511628211 }
            print(
                "  \(node.name.padding(toLength: 11, withPad: " ", startingAt: 0)) surveys=\(stats.rows["surveyResponse"] ?? 0) "
                    + "conflicts=\(try node.replica.openConflicts().count) commits=\(try node.replica.versionVector().total) state=\(String(digest, radix: 16).prefix(8))")
        }
    }
}

package final class DemoNode {
    package let name: String
    package let replica: Replica

    package init(name: String, replica: Replica) {
        self.name = name
        self.replica = replica
    }

    package func value(_ table: String, _ id: String, _ column: String) throws -> String {
        try replica.reader.read { db in
            try String.fetchOne(db, sql: "SELECT \(column) FROM \(table) WHERE id = ?", arguments: [id]) ?? "NULL"
        }
    }
}
