import CRMDomain
import Foundation
import GRDB
import NodeHTTP
import NodeRuntime
import Replica
import Sodium
import Testnets

/// Admissions and discharges from the HIS over one MLLP connection, in A01+A03 pairs applied and
/// acknowledged per second (each A01 also creates its patient). Baseline: encounters created per
/// second through the JSON API (`POST /api/encounters`, patient already there, one request at a
/// time) on the same node, same run.
/// - `mllp_adt_per_s`: the engine keeps up to 16 messages in flight (what an engine draining its
///   queue does when it does not wait for each ACK); messages that arrive together share a commit.
///   It and the baseline are measured in alternating rounds (API, feed, API, feed, …) and summed.
/// - `mllp_adt_sequential_per_s`: original mode, one message then its ACK: one commit (and fsync)
///   per message, so a pair costs two commits where the baseline's encounter costs one.
extension DomainBenchmark {
    static let mllpWindow = 16
    /// The API baseline and the pipelined feed are measured in this many alternating rounds.
    static let rounds = 4

    func mllpAdmissions(_ scratch: ScratchDirectory) async throws -> [BenchmarkResult] {
        let pairs = 1_000 / scaleDown
        let sequentialPairs = pairs / 2
        let path = scratch.path("his-central")
        try NodeDirectory(path).createCentral(name: "central", NodeSetup(listen: "127.0.0.1:0", policies: policies))
        let (_, configuration, runtime) = try NodeRuntime.open(directory: path, logger: quietLogger, passwordStrength: .minimum)
        let crm = runtime.crm
        try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-CARD", name: "心内科"))
        try await crm.organisation.saveReference(.system, .ward, ReferenceItem(id: "W-CARD", name: "心内一病区", departmentId: "D-CARD"))
        try await crm.his.setCode(.system, HISCode(kind: .ward, code: "W12", targetId: "W-CARD"))
        try await crm.his.setCode(.system, HISCode(kind: .department, code: "CARD", targetId: "D-CARD"))
        try await crm.accounts.saveUser(.system, username: "clerk", displayName: "clerk", role: .manager, password: "bench-password", wardId: nil)
        var patients: [String] = []
        for index in 0..<(pairs + sequentialPairs) {
            patients.append(try await crm.patients.create(.system, PatientInput(name: "患者\(index)", gender: "female", birthDate: "1960-05-01")))
        }

        // The API and the MLLP listener of one node, on ports the system picks.
        let (server, httpPort) = try await Self.loopbackAPI(runtime, configuration)
        defer { server.cancel() }
        let (mllpPorts, reportMLLP) = AsyncStream.makeStream(of: Int.self)
        let listener = try MLLPListener(
            runtime: runtime, endpoint: try Endpoint("127.0.0.1:0"), policy: MLLPPolicy(allowedHosts: nil),
            onListening: { address in
                reportMLLP.yield(Int(address.split(separator: ":").last ?? "") ?? 0)
                reportMLLP.finish()
            })
        let listening = Task { try await listener.run() }
        defer { listening.cancel() }
        var mllpIterator = mllpPorts.makeAsyncIterator()
        guard let mllpPort = await mllpIterator.next(), mllpPort > 0 else { throw NodeSetupError("the MLLP listener did not start") }

        let client = try LoopbackHTTPClient(port: httpPort)
        let token = try Self.logIn(client, "clerk", "bench-password")
        let bodies = patients.enumerated().map { index, patient in
            #"{"patientId":"\#(patient)","kind":"inpatient","departmentId":"D-CARD","wardId":"W-CARD","admittedAt":"2026-12-01T08:30:00+08:00","hisId":"API\#(index)"}"#
        }

        let engine = try LoopbackMLLPClient(port: mllpPort)
        let messages = (0..<(pairs + sequentialPairs)).map { index -> ([UInt8], [UInt8]) in
            let msh = { (trigger: String, control: String) in
                "MSH|^~\\&|HISAPP|HOSP|SUIFANG|CENTRAL|20261201090000||ADT^\(trigger)^ADT_\(trigger)|\(control)|P|2.5||||||UNICODE UTF-8\r"
            }
            let pid = "PID|1||HP\(index)^^^HIS^PI||张^三\(index)||19600501|F|||北京路1号^^广州市^广东省||13800138000\r"
            let pv1 = { (more: String) in "PV1|1|I|W12^301^2|||||||CARD" + String(repeating: "|", count: 9) + "HV\(index)" + more + "\r" }
            let admit = msh("A01", "A\(index)") + "EVN|A01|20261201090000\r" + pid + pv1(String(repeating: "|", count: 25) + "20261201083000")
            let discharge =
                msh("A03", "D\(index)") + "EVN|A03|20261205100000\r" + pid + pv1(String(repeating: "|", count: 17) + "01" + String(repeating: "|", count: 9) + "20261205100000")
            return (Array(admit.utf8), Array(discharge.utf8))
        }
        let accepted = Array("MSA|AA|".utf8)
        func check(_ ack: [UInt8]) throws {
            guard ack.firstRange(of: accepted) != nil else { throw NodeSetupError("not accepted: \(String(decoding: ack, as: UTF8.self))") }
        }
        // Rounds that alternate the two, so that both see the replica grow and its checkpoints alike.
        var apiSeconds = 0.0, pipelinedSeconds = 0.0
        let roundSize = pairs / Self.rounds
        for round in 0..<Self.rounds {
            let range = (round * roundSize)..<(round == Self.rounds - 1 ? pairs : (round + 1) * roundSize)
            apiSeconds += try measure {
                for index in range {
                    let (code, answer) = try client.request("POST", "/api/encounters", body: bodies[index], token: token)
                    guard code == 201 else { throw NodeSetupError("encounter \(index) answered \(code): \(answer.prefix(200))") }
                }
            }
            let stream = messages[range].flatMap { [$0.0, $0.1] }
            pipelinedSeconds += try measure {
                var sent = 0, acknowledged = 0
                while acknowledged < stream.count {
                    while sent < stream.count, sent - acknowledged < Self.mllpWindow {
                        try engine.send(stream[sent])
                        sent += 1
                    }
                    try check(try engine.receive())
                    acknowledged += 1
                }
            }
        }
        let sequentialSeconds = try measure {
            for (admit, discharge) in messages.suffix(sequentialPairs) {
                try check(try engine.exchange(admit))
                try check(try engine.exchange(discharge))
            }
        }
        let discharged = try await runtime.replica.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM encounter WHERE id LIKE 'his-HV%' AND dischargedAt IS NOT NULL") ?? 0
        }
        guard discharged == pairs + sequentialPairs else { throw NodeSetupError("\(discharged) of \(pairs + sequentialPairs) HIS admissions were discharged") }
        let apiRate = Double(pairs) / apiSeconds
        return [
            BenchmarkResult(
                suite: "domain", metric: "mllp_adt_per_s", value: Double(pairs) / pipelinedSeconds, unit: "pairs/s",
                baseline: apiRate, goal: ">= 0.8", baselineUnit: "API encounters/s"),
            BenchmarkResult(
                suite: "domain", metric: "mllp_adt_sequential_per_s", value: Double(sequentialPairs) / sequentialSeconds, unit: "pairs/s",
                baseline: apiRate, goal: ">= 0.4", baselineUnit: "API encounters/s"),
        ]
    }
}
