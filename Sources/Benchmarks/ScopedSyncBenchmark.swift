import Foundation
import GRDB
import NodeRuntime
import Replica

/// The scoped feed's figures, in process (no network: both sides' work, not the wire's):
/// - `scoped_initial_sync_ratio`: a fresh ward node holding one ward of 24 syncs from a central of
///   1,000,000 rows (patients, their encounters and survey responses, spread evenly over the wards),
///   against a fresh full node taking the same central's commit log, same run (both read the next
///   page while applying the last, as sessions do);
/// - `backfill_ms`: a patient with 200 rows is transferred into a synced ward; time from the transfer's
///   commit at central until the ward node committed the page that brings those rows.
struct ScopedSyncBenchmark {
    let scaleDown: Int
    let policies: PolicySet

    static let wards = (0..<24).map { "WARD-\($0)" }
    static let rowsPerPatient = 25  // the archive card, one stay, 23 survey responses

    func run(scratch: ScratchDirectory) async throws -> [BenchmarkResult] {
        let total = 1_000_000 / scaleDown
        let central = try open(scratch.path("scoped-central.sqlite"), node: 1)
        try await fill(central, patients: max(total / Self.rowsPerPatient, Self.wards.count))

        // Both sides read the next page while they apply the last one, as a session does.
        let full = try open(scratch.path("scoped-full.sqlite"), node: 3)
        let fullStarted = Date()
        func read(after cursor: ChangeCursor?) -> Task<(batch: ChangeBatch, next: ChangeCursor?), any Error> {
            Task.detached { try central.changes(since: VersionVector(), after: cursor, maxChanges: 2_000) }
        }
        var reading = read(after: nil)
        var cursor: ChangeCursor?
        repeat {
            let page = try await reading.value
            if let next = page.next { reading = read(after: next) }
            _ = try await full.apply(page.batch)
            cursor = page.next
        } while cursor != nil
        let fullSeconds = Date().timeIntervalSince(fullStarted)

        let ward = try open(scratch.path("scoped-ward.sqlite"), node: 2)
        let wardStarted = Date()
        try await ward.catchUp(from: central)
        let wardSeconds = Date().timeIntervalSince(wardStarted)
        let held = try ward.statistics().rows.values.reduce(0, +)
        guard held >= total / Self.wards.count / 2 else { throw NodeSetupError("the ward node holds only \(held) rows") }

        // A patient of another ward with 200 rows moves into the synced ward.
        let mover = "BENCH-MOVER"
        let stay = try await central.write { tx in
            _ = try tx.insert(into: "patient", values: ["name": "移动", "createdAt": "2026-11-01T08:00:00+08:00"], id: mover)
            let stay = try tx.insert(
                into: "encounter", values: ["patientId": mover, "kind": "inpatient", "wardId": Self.wards[1], "admittedAt": "2026-11-01T08:00:00+08:00"])
            for index in 0..<199 { try insertResponse(tx, patient: mover, ward: Self.wards[1], index: index) }
            return stay
        }
        try await ward.catchUp(from: central)
        let moved = Date()
        try await central.write { try $0.update("encounter", id: stay, set: ["wardId": Self.wards[0]]) }
        try await ward.catchUp(from: central)
        let backfillMs = Date().timeIntervalSince(moved) * 1000
        let arrived = try await ward.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM surveyResponse WHERE patientId = ?", arguments: [mover]) ?? 0 }
        guard arrived == 199 else { throw NodeSetupError("the backfill brought \(arrived) of 199 responses") }
        return [
            BenchmarkResult(
                suite: "sync", metric: "scoped_initial_sync_ratio", value: wardSeconds, unit: "s (ward, 1/24 of \(total) rows)",
                baseline: fullSeconds, goal: "<= 0.1", baselineUnit: "s (full replica)"),
            BenchmarkResult(
                suite: "sync", metric: "backfill_ms", value: backfillMs, unit: "ms (200 rows)", baseline: wardSeconds * 1000,
                goal: "<= 500", goalOnValue: true, baselineUnit: "ms (the ward's initial sync)"),
        ]
    }

    /// Node 1 is central, node 2 the ward node of WARD-0, node 3 a call center (a full replica).
    private func open(_ path: String, node: UInt64) throws -> Replica {
        let ward = NodeID(2)
        var configuration = ReplicaConfiguration(nodeID: NodeID(node), policies: policies, wallClock: SystemWallClock(), rowIDSeed: node)
        configuration.authority = SharedSecretTrust(
            nodeID: NodeID(node), roles: [ward: .ward, NodeID(3): .callcenter], wards: [ward: [Self.wards[0]]])
        return try Replica.open(at: path, configuration: configuration)
    }

    /// Patients spread round-robin over the wards, each with its stay and responses, 20 patients a commit.
    private func fill(_ central: Replica, patients: Int) async throws {
        var next = 0
        while next < patients {
            let (lower, upper) = (next, min(next + 20, patients))
            try await central.write { tx in
                for index in lower..<upper {
                    let patient = "P\(index)"
                    let ward = Self.wards[index % Self.wards.count]
                    _ = try tx.insert(into: "patient", values: ["name": "患者\(index)", "phone": "1380000\(index)", "createdAt": "2026-11-01T08:00:00+08:00"], id: patient)
                    _ = try tx.insert(
                        into: "encounter", values: ["patientId": patient, "kind": "inpatient", "wardId": ward, "admittedAt": "2026-11-01T08:00:00+08:00"])
                    for response in 0..<(Self.rowsPerPatient - 2) { try insertResponse(tx, patient: patient, ward: ward, index: response) }
                }
            }
            next = upper
        }
    }

    private func insertResponse(_ tx: ReplicaTransaction, patient: String, ward: String, index: Int) throws {
        _ = try tx.insert(
            into: "surveyResponse",
            values: [
                "templateId": "bedside", "templateVersion": 1, "patientId": patient, "wardId": ward, "mode": "bedside",
                "submittedAt": "2026-11-02T09:00:00+08:00", "answers": #"{"overall":\#(index % 5 + 1),"nps":\#(index % 11)}"#,
            ])
    }
}
