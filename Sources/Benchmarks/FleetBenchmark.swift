import Foundation
import GRDB
import Logging
import NodeRuntime
import Replica
import SyncProtocol
import Synchronization
import Testnets

/// `suifang bench fleet`: one central and a hospital's fleet of ward gateways.
///
/// Central runs in this process (so it sees each write arrive: `Replica.events()`), behind the
/// sync listener every node runs. The peers are real ward nodes (enrolled certificates, scoped
/// policies, their own replicas, signed commits, live sessions) in a few child processes
/// (`suifang bench fleet-peers`); each writes a survey response every 1–5 s, stamped with the time
/// it committed it, and logs its id. Then central stops listening for a while (the peers go on
/// writing), and comes back: every peer reconnects at once and sends what it wrote meanwhile.
///
/// Central's resident memory is this process's (central's replica, sessions and the arrival
/// bookkeeping; the peers live in the child processes).
package struct FleetBenchmark {
    package var peers: Int
    package var processes: Int
    package var seconds: Double
    package var outageSeconds: Double
    package var policies: PolicyDirectory

    package init(peers: Int = 200, processes: Int = 4, seconds: Double = 60, outageSeconds: Double = 10, policies: PolicyDirectory) {
        self.peers = peers
        self.processes = processes
        self.seconds = seconds
        self.outageSeconds = outageSeconds
        self.policies = policies
    }

    package func run() async throws {
        let scratch = try ScratchDirectory(prefix: "suifang-bench-fleet")
        defer { scratch.remove() }
        let port = try await TestnetRunner.freePort()
        let endpoint = try Endpoint("127.0.0.1:\(port)")
        try Self.makeFleet(in: scratch, peers: peers, centralPort: port, policies: policies)
        var logger = Logger(label: "central")
        logger.logLevel = .warning
        let (_, _, central) = try NodeRuntime.open(directory: scratch.path("central"), logger: logger)
        let arrivals = ArrivalLog()
        let collector = Task { await arrivals.collect(from: central.replica) }
        defer { collector.cancel() }
        // Every peer comes from 127.0.0.1 here; a hospital's gateways each have their own address.
        let limits = ListenerLimits(perAddress: peers + 16, total: peers + 64)
        var listener = Task { try await SyncListener(runtime: central, endpoint: endpoint, limits: limits, onListening: { _ in }).run() }

        // The peers, in child processes, for the live phase, the outage and the reconnection.
        let tool = NodeTool()
        let perProcess = (peers + processes - 1) / processes
        var children: [Process] = []
        for first in stride(from: 0, to: peers, by: perProcess) {
            children.append(
                try tool.start(
                    [
                        "bench", "fleet-peers", "--scratch", scratch.url.path, "--first", "\(first)", "--count", "\(min(perProcess, peers - first))",
                        "--central", endpoint.description, "--seconds", "\(seconds + outageSeconds)",
                    ], logPath: scratch.path("peers-\(first).log")))
        }
        defer { for child in children where child.isRunning { child.terminate() } }
        let started = Date()
        let startedMilliseconds = Double(SystemWallClock().now())
        let rss = PeakResidentMemory()
        let sampler = Task { await rss.sample(every: .milliseconds(500)) }
        defer { sampler.cancel() }

        // Live: every peer connected and writing.
        try await Task.sleep(for: .seconds(seconds))
        let arrived = try await arrivals.latencies(at: central.replica)
        let live = arrived.map(\.latency).sorted()
        // Printed at once: the storm that follows may take long.
        guard !live.isEmpty else { throw NodeSetupError("no write arrived in the live phase") }
        let p50 = live[live.count / 2], p99 = live[min(live.count - 1, live.count * 99 / 100)]
        // Where the slow writes are: the start (every session taking its snapshot) or throughout.
        let settled = arrived.filter { $0.seenAt >= startedMilliseconds + 20_000 }.map(\.latency).sorted()
        if !settled.isEmpty {
            FileHandle.standardError.write(
                Data(
                    "fleet: after the first 20 s, \(settled.count) writes: p50 \(settled[settled.count / 2]) ms, p99 \(settled[min(settled.count - 1, settled.count * 99 / 100)]) ms\n"
                        .utf8))
        }
        for result in [
            BenchmarkResult(
                suite: "fleet", metric: "fleet_live_p50_ms", value: p50, unit: "ms", baseline: Double(live.count), goal: "<= 20", goalOnValue: true, baselineUnit: "writes"),
            BenchmarkResult(
                suite: "fleet", metric: "fleet_live_p99_ms", value: p99, unit: "ms", baseline: Double(live.count), goal: "<= 100", goalOnValue: true, baselineUnit: "writes"),
        ] {
            print(result.jsonLine)
            fflush(nil)
        }
        // Outage: central stops listening (its sessions end); the peers go on writing.
        // Its listening socket closes at once; sessions end as their connections do (not awaited:
        // one stuck in a write must not hold the benchmark).
        listener.cancel()
        try await Task.sleep(for: .seconds(outageSeconds))
        let owed = Self.loggedIDs(scratch)
        let back = Date()
        listener = Task { try await SyncListener(runtime: central, endpoint: endpoint, limits: limits, onListening: { _ in }).run() }
        defer { listener.cancel() }
        // Two minutes at most: a storm that has not caught up by then reads 120 (goal not met).
        var storm = 120.0
        while Date().timeIntervalSince(back) < 120 {
            if try Self.missing(owed, at: central.replica).isEmpty {
                storm = Date().timeIntervalSince(back)
                break
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        // The peers stop writing `seconds + outageSeconds` after they started, and stay connected.
        try await Task.sleep(for: .seconds(max(0, seconds + outageSeconds + 6 - Date().timeIntervalSince(started))))
        // Whatever a peer logged must arrive (within a minute more).
        let logged = Self.loggedIDs(scratch)
        var lost = try Self.missing(logged, at: central.replica)
        let deadline = Date().addingTimeInterval(60)
        while !lost.isEmpty, Date() < deadline {
            try await Task.sleep(for: .milliseconds(500))
            lost = try Self.missing(logged, at: central.replica)
        }
        // A peer process that ended by itself failed (they run until stopped).
        let failedChildren = children.filter { !$0.isRunning }.count
        for child in children where child.isRunning { child.terminate() }
        let results = [
            BenchmarkResult(
                suite: "fleet", metric: "fleet_central_rss_mb", value: await rss.peak, unit: "MiB", baseline: Double(peers), goal: "<= 300", goalOnValue: true,
                baselineUnit: "peers"),
            BenchmarkResult(
                suite: "fleet", metric: "fleet_errors", value: Double(lost.count + failedChildren), unit: "writes lost + peer processes failed",
                baseline: Double(logged.count), goal: "<= 0", goalOnValue: true, baselineUnit: "writes logged"),
            BenchmarkResult(
                suite: "fleet", metric: "fleet_reconnect_storm_s", value: storm, unit: "s", baseline: Double(owed.count), goal: "<= 30", goalOnValue: true,
                baselineUnit: "writes owed at reconnection"),
        ]
        for result in results { print(result.jsonLine) }
    }

    /// Central and `peers` ward nodes (`ward-000`…, each for its ward `W-000`…) in `scratch`.
    static func makeFleet(in scratch: ScratchDirectory, peers: Int, centralPort: Int, policies: PolicyDirectory) throws {
        let central = NodeDirectory(scratch.path("central"))
        try central.createCentral(
            name: "central", NodeSetup(listen: "127.0.0.1:\(centralPort)", policies: policies, unlock: .keyFile(scratch.path("central.key"))))
        for index in 0..<peers {
            let name = peerName(index)
            let (token, _) = try central.enrol(
                name: name, role: .ward, wards: [wardName(index)], centralAddress: "127.0.0.1:\(centralPort)", validDays: 30)
            try NodeDirectory(scratch.path(name)).join(with: try token.grant, NodeSetup(listen: "127.0.0.1:0", policies: policies))
        }
    }

    static func peerName(_ index: Int) -> String { "ward-" + String(format: "%03d", index) }
    static func wardName(_ index: Int) -> String { "W-" + String(format: "%03d", index) }

    /// Every id the peers logged as committed.
    static func loggedIDs(_ scratch: ScratchDirectory) -> Set<String> {
        var ids: Set<String> = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: scratch.url.path)) ?? [] where name.hasSuffix(".written") {
            let text = (try? String(contentsOfFile: scratch.path(name), encoding: .utf8)) ?? ""
            ids.formUnion(text.split(separator: "\n").map(String.init))
        }
        return ids
    }

    static func missing(_ ids: Set<String>, at central: Replica) throws -> Set<String> {
        let held = try central.reader.read { db in Set(try String.fetchAll(db, sql: "SELECT id FROM surveyResponse")) }
        return ids.subtracting(held)
    }
}

/// When each write a peer made reached central: the commit's event is noted as it comes (its rows'
/// ids and the time), and the peers' commit times are read afterwards. Reading them as each event
/// came would hold the next event behind a reader (central's readers also serve 200 wards' feed
/// looks), and count that wait in the next write's latency.
actor ArrivalLog {
    private var arrivals: [(ids: [String], seenAt: Double)] = []

    func collect(from replica: Replica) async {
        for await event in replica.events() where event.source == .remote {
            guard let ids = event.rows["surveyResponse"], !ids.isEmpty else { continue }
            arrivals.append((Array(ids), Double(SystemWallClock().now())))
        }
    }

    /// Each write's latency (milliseconds: its arrival minus the time its peer committed it) and
    /// when it arrived (milliseconds since 1970).
    func latencies(at replica: Replica) async throws -> [(latency: Double, seenAt: Double)] {
        let seen = arrivals  // events that come while the reads below wait are left out
        var committedAt: [String: Double] = [:]
        let ids = seen.flatMap(\.ids)
        for first in stride(from: 0, to: ids.count, by: 500) {
            let chunk = Array(ids[first..<min(first + 500, ids.count)])
            let rows = try await replica.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT id, startedAt FROM surveyResponse WHERE id IN (\(chunk.map { _ in "?" }.joined(separator: ",")))",
                    arguments: StatementArguments(chunk)
                ).map { ($0[0] as String?, $0[1] as String?) }
            }
            for case (let id?, let started?) in rows { committedAt[id] = Double(started) }
        }
        return seen.flatMap { arrival in arrival.ids.compactMap { committedAt[$0].map { (arrival.seenAt - $0, arrival.seenAt) } } }
    }
}

/// The peak resident memory of this process.
actor PeakResidentMemory {
    private(set) var peak = 0.0

    func sample(every interval: Duration) async {
        while !Task.isCancelled {
            peak = max(peak, NodeTool.residentMegabytes(getpid()) ?? 0)
            try? await Task.sleep(for: interval)
        }
    }
}

/// `suifang bench fleet-peers`: `count` of a fleet's ward nodes in one process, each connected to
/// central and writing a survey response every 1–5 s for `seconds`, each id logged once committed;
/// then connected until the process is stopped.
package struct FleetPeers {
    package var scratch: String
    package var first: Int
    package var count: Int
    package var central: String
    package var seconds: Double

    package init(scratch: String, first: Int, count: Int, central: String, seconds: Double) {
        self.scratch = scratch
        self.first = first
        self.count = count
        self.central = central
        self.seconds = seconds
    }

    package func run() async throws {
        let endpoint = try Endpoint(central)
        let written = try WrittenLog(path: URL(fileURLWithPath: scratch).appendingPathComponent("peers-\(first).written").path)
        let deadline = ContinuousClock.now + .seconds(seconds)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in first..<(first + count) {
                let path = URL(fileURLWithPath: scratch).appendingPathComponent(FleetBenchmark.peerName(index)).path
                var logger = Logger(label: FleetBenchmark.peerName(index))
                logger.logLevel = .warning
                let (_, _, runtime) = try NodeRuntime.open(directory: path, logger: logger)
                let connector = Task { try await PeerConnector(runtime: runtime, endpoint: endpoint).run() }
                group.addTask {
                    var count = 0
                    while ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(Int.random(in: 1000...5000)))
                        count += 1
                        let ward = FleetBenchmark.wardName(index), patient = "P-\(index)-\(count)"
                        let id = try await runtime.replica.write { tx in
                            try tx.insert(
                                into: "surveyResponse",
                                values: [
                                    "templateId": "fleet", "templateVersion": 1, "patientId": patient, "wardId": ward, "mode": "bedside",
                                    "answers": "{}", "startedAt": "\(SystemWallClock().now())", "submittedAt": "2026-12-04T10:00:00+08:00",
                                ])
                        }
                        await written.append(id)
                    }
                    // Done writing: stay connected until stopped, so that everything written arrives.
                    _ = await connector.result
                }
            }
            try await group.waitForAll()
        }
        await written.close()
    }
}

/// The ids a peer process committed, one per line.
actor WrittenLog {
    private let handle: FileHandle

    init(path: String) throws {
        FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else { throw NodeSetupError("cannot write \(path)") }
        self.handle = handle
    }

    func append(_ id: String) { handle.write(Data("\(id)\n".utf8)) }

    func close() { try? handle.close() }
}
