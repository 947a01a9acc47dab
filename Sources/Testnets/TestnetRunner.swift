import Foundation
import GRDB
import NIOCore
import NIOPosix
import NodeHTTP
import NodeRuntime
import Replica
import SyncProtocol
import Synchronization

/// Runs a testnet: real `suifang serve` processes on loopback, links through fault proxies,
/// a fault script, then heals everything and checks convergence and that no acknowledged
/// write is missing.
package final class TestnetRunner {
    package let topology: TestnetTopology
    package let policiesPath: String
    package let work: URL
    package let tool = NodeTool()
    package let log: (String) -> Void
    private var ports: [String: Int] = [:]
    private var proxies: [String: FaultProxy] = [:]
    private var processes: [String: Process] = [:]
    private var skews: [String: Double] = [:]
    private var trafficStart = Date()
    /// When the certificates of `expectRenewed` nodes were issued at set-up.
    private var issuedAt: [String: UInt64] = [:]
    /// What the fault script's own checks (`expectCaughtUp`) found wrong.
    private var scriptProblems: [String] = []

    package struct Outcome {
        package var converged: Bool
        package var seconds: Double
        package var rows: [String: Int]
        package var acknowledged: Int
        package var missing: Int
        package var problems: [String]
    }

    package init(topology: TestnetTopology, policiesPath: String, log: @escaping (String) -> Void) throws {
        self.topology = topology
        self.policiesPath = policiesPath
        self.log = log
        self.work = FileManager.default.temporaryDirectory.appendingPathComponent("suifang-testnet-\(topology.name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    package func run() async throws -> Outcome {
        let start = Date()
        defer { cleanUp() }
        try await setUp()
        // Traffic time counts from the first launch, so the first nodes get the whole duration.
        trafficStart = Date()
        for node in topology.nodes { try launch(node.name) }
        log("\(topology.nodes.count) nodes up; traffic for \(topology.duration) s")
        for fault in topology.script {
            let wait = fault.at - Date().timeIntervalSince(trafficStart)
            if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
            if fault.whenReceiving == true, let name = fault.kill { await waitUntilReceiving(name) }
            if let count = fault.afterCaptured, let name = (fault.heal ?? fault.partition ?? fault.delay ?? fault.loss)?.first {
                await waitUntilCaptured(name, count: count)
            }
            try await apply(fault)
        }
        let remaining = topology.duration - Date().timeIntervalSince(trafficStart)
        if remaining > 0 { try await Task.sleep(for: .seconds(remaining)) }
        log("healing every link and restarting stopped nodes")
        for proxy in proxies.values { proxy.update { $0 = FaultProxy.Faults() } }
        for (name, process) in processes where !process.isRunning { try launch(name) }
        let converged = try await waitForConvergence(timeout: topology.settleTimeout ?? 90)
        for process in processes.values where process.isRunning { process.terminate() }
        for process in processes.values { process.waitUntilExit() }
        var outcome = try finalCheck()
        outcome.problems += scriptProblems
        outcome.converged = outcome.converged && converged && scriptProblems.isEmpty
        outcome.seconds = Date().timeIntervalSince(start)
        return outcome
    }

    // MARK: Set-up

    private func setUp() async throws {
        let central = topology.nodes.first { $0.role == "central" }!
        for node in topology.nodes { ports[node.name] = try await Self.freePort() }
        try tool.makeCluster(
            in: work, central: (central.name, ports[central.name]!),
            others: topology.nodes.filter { $0.role != "central" }.map { ($0.name, $0.role, ports[$0.name]!) },
            validDays: Dictionary(uniqueKeysWithValues: topology.nodes.compactMap { node in node.validDays.map { (node.name, $0) } }),
            policies: policiesPath)
        for name in topology.expectRenewed ?? [] {
            issuedAt[name] = try NodeDirectory(dir(name), unlock: .keyFile(keyFile(name))).identity().certificate.issuedAt
        }
        // The template the nodes' traffic answers, written by central as an administrator would and
        // on every node before the run (a hospital hands its wards their templates before any link fails).
        do {
            let (_, _, centralRuntime) = try NodeRuntime.open(directory: dir(central.name), logger: quietLogger)
            try await TrafficService.seedTemplate(centralRuntime.crm, wards: topology.nodes.filter { $0.role == "ward" }.map(\.name))
            for node in topology.nodes where node.name != central.name {
                let (_, _, runtime) = try NodeRuntime.open(directory: dir(node.name), logger: quietLogger)
                if runtime.replica.ownScope != nil {
                    try await runtime.replica.catchUp(from: centralRuntime.replica)
                } else {
                    try Self.copyChanges(from: centralRuntime.replica, to: runtime.replica)
                }
            }
        }
        // Each node reaches its peers only through the runner's proxies.
        var peers: [String: [String]] = [:]
        for link in topology.links {
            let proxy = FaultProxy(name: "\(link[0])→\(link[1])", targetPort: ports[link[1]]!)
            proxies[key(link)] = proxy
            peers[link[0], default: []].append("127.0.0.1:\(try await proxy.start())")
        }
        for node in topology.nodes {
            let directory = NodeDirectory(dir(node.name))
            var configuration = try directory.configuration()
            configuration.peers = peers[node.name] ?? []
            try directory.save(configuration)
        }
    }

    /// Everything `target` lacks of `source`, page by page, in process (set-up only).
    private static func copyChanges(from source: Replica, to target: Replica) throws {
        let since = try target.versionVector()
        var cursor: ChangeCursor?
        repeat {
            let page = try source.changes(since: since, after: cursor)
            if !page.batch.isEmpty { try target.apply(page.batch) }
            cursor = page.next
        } while cursor != nil
    }

    private func launch(_ name: String) throws {
        let node = topology.nodes.first { $0.name == name }!
        var arguments = ["serve", "--dir", dir(name), "--log-level", "warning"]
        let remaining = topology.duration - Date().timeIntervalSince(trafficStart)
        if let traffic = node.traffic, traffic > 0, remaining > 0 {
            if let total = node.trafficTotal { arguments += ["--traffic-total", "\(total)"] }
            arguments += ["--traffic-per-second", "\(traffic)", "--traffic-log", work.appendingPathComponent("\(name).acks").path]
        }
        if let transfers = node.transfers, transfers > 0, remaining > 0 {
            arguments += ["--traffic-transfers", "\(transfers)"]
        }
        if remaining > 0 { arguments += ["--traffic-seconds", "\(remaining)"] }
        if let skew = skews[name] { arguments += ["--clock-skew-seconds", "\(skew)"] }
        processes[name] = try tool.start(arguments, logPath: work.appendingPathComponent("\(name).log").path)
    }

    private func apply(_ fault: TestnetTopology.Fault) async throws {
        let at = String(format: "t=%.1fs", fault.at)
        if let link = fault.partition { proxies[key(link)]?.update { $0.partitioned = true }; log("\(at) partition \(link.joined(separator: "→"))") }
        if let link = fault.heal { proxies[key(link)]?.update { $0.partitioned = false }; log("\(at) heal \(link.joined(separator: "→"))") }
        if let link = fault.delay { proxies[key(link)]?.update { $0.delayMilliseconds = fault.ms ?? 0 }; log("\(at) delay \(fault.ms ?? 0) ms on \(link.joined(separator: "→"))") }
        if let link = fault.loss { proxies[key(link)]?.update { $0.lossPercent = fault.percent ?? 0 }; log("\(at) loss \(fault.percent ?? 0) % on \(link.joined(separator: "→"))") }
        if let name = fault.kill, let process = processes[name], process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            log("\(at) kill -9 \(name)")
        }
        if let name = fault.restart, processes[name]?.isRunning != true { try launch(name); log("\(at) restart \(name)") }
        if let name = fault.skew {
            skews[name] = fault.seconds ?? 0
            if let process = processes[name], process.isRunning { process.terminate(); process.waitUntilExit() }
            try launch(name)
            log("\(at) clock of \(name) skewed by \(fault.seconds ?? 0) s")
        }
        if let name = fault.backup {
            let backup = backupPath(name)
            try? FileManager.default.removeItem(atPath: backup)
            try tool.run(["backup", "--dir", dir(name), "--out", backup] + unlock(name))
            log("\(at) backed up \(name) while it runs")
        }
        if let name = fault.restore { try await restore(name, at: at) }
        if let name = fault.expectCaughtUp {
            let central = topology.nodes.first { $0.role == "central" }!
            if await !waitUntilCentralHolds(name, central: central.name, within: 30) {
                scriptProblems.append("at \(at) central did not come to hold what \(name) acknowledged: they do not sync")
            }
        }
        if let name = fault.upgrade {
            if let process = processes[name], process.isRunning { process.terminate(); process.waitUntilExit() }
            try tool.run(["policies", "install", "--dir", dir(name), "--policies", try nextPoliciesPath()])
            try launch(name)
            log("\(at) \(name) upgraded to the next release's policies and started")
        }
    }

    /// The next release's policy directory: the testnet's policies with `nextPolicies` added, written once.
    private func nextPoliciesPath() throws -> String {
        let next = work.appendingPathComponent("policies-next")
        if FileManager.default.fileExists(atPath: next.path) { return next.path }
        try FileManager.default.createDirectory(at: next, withIntermediateDirectories: true)
        let added = topology.nextPolicies?.addColumns ?? [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: policiesPath).sorted() where name.hasSuffix(".policy") {
            let text = try String(contentsOfFile: URL(fileURLWithPath: policiesPath).appendingPathComponent(name).path, encoding: .utf8)
            try Self.addingColumns(added, to: text).write(to: next.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        try (topology.nextPolicies?.addTables ?? []).joined(separator: "\n\n").write(to: next.appendingPathComponent("next-release.policy"), atomically: true, encoding: .utf8)
        return next.path
    }

    /// `text` with each table's added column lines after its last column.
    static func addingColumns(_ added: [String: [String]], to text: String) -> String {
        var lines = text.components(separatedBy: "\n")
        var table: String?, lastColumn: [String: Int] = [:]
        for (index, line) in lines.enumerated() {
            let words = line.split(separator: " ")
            if words.first == "table", words.count > 1 { table = String(words[1]) }
            if let table, words.first == "column" { lastColumn[table] = index }
        }
        for (table, index) in lastColumn.sorted(by: { $0.value > $1.value }) {
            guard let columns = added[table] else { continue }
            lines.insert(contentsOf: columns.map { "  column \($0)" }, at: index + 1)
        }
        return lines.joined(separator: "\n")
    }

    /// Central holds every write the node acknowledged, then the node loses its disk and comes back
    /// from its latest backup under a new id (a testnet counts every acknowledged write, so it waits
    /// for them to reach central first: what a node never synced dies with its disk).
    private func restore(_ name: String, at: String) async throws {
        let node = topology.nodes.first { $0.name == name }!
        let central = topology.nodes.first { $0.role == "central" }!
        await waitUntilCentralHolds(name, central: central.name)
        if let process = processes[name], process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try FileManager.default.removeItem(atPath: dir(name))
        // The restored node logs its own writes afresh (and its traffic starts over); the old life's stay counted.
        let acks = work.appendingPathComponent("\(name).acks").path
        try FileManager.default.moveItem(atPath: acks, toPath: work.appendingPathComponent("\(name).before-restore.acks").path)
        var arguments = ["restore", "--from", backupPath(name), "--dir", dir(name)] + unlock(name)
        if node.role != "central" {
            let token = work.appendingPathComponent("\(name).restore.token").path
            try? FileManager.default.removeItem(atPath: token)
            let wards = node.role == "ward" ? ["--ward", name] : []
            try tool.run(["enroll", "--dir", dir(central.name), "--name", name, "--role", node.role, "--out", token] + wards)
            arguments += ["--token", token]
        }
        try tool.run(arguments)
        let restored = try NodeDirectory(dir(name)).configuration().nodeID
        try launch(name)
        log("\(at) \(name) lost its disk: restored from its backup as node \(restored) and started")
    }

    /// Waits until central's replica holds every survey the node acknowledged so far (at most `within` seconds).
    @discardableResult
    private func waitUntilCentralHolds(_ name: String, central: String, within seconds: Double = 60) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let acknowledged = Set(
                ((try? String(contentsOfFile: work.appendingPathComponent("\(name).acks").path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init))
            if acknowledged.isSubset(of: Self.surveyIDs(dir(central))) {
                log("central holds the \(acknowledged.count) writes \(name) acknowledged")
                return true
            }
            try? await Task.sleep(for: .milliseconds(300))
        }
        log("central did not receive every write \(name) acknowledged in time")
        return false
    }

    private func backupPath(_ name: String) -> String { work.appendingPathComponent("\(name).backup").path }

    /// `--unlock` for a node: its key file, made by ``NodeTool/makeCluster(in:central:others:wards:policies:)``.
    private func unlock(_ name: String) -> [String] { ["--unlock", "file:" + keyFile(name)] }

    private func keyFile(_ name: String) -> String { work.appendingPathComponent("keys").appendingPathComponent("\(name).key").path }

    /// Waits until a node's traffic has logged `count` acknowledged writes (at most 120 s).
    private func waitUntilCaptured(_ name: String, count: Int) async {
        let path = work.appendingPathComponent("\(name).acks").path
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            let lines = (try? String(contentsOfFile: path, encoding: .utf8))?.split(separator: "\n").count ?? 0
            if lines >= count {
                log("\(name) captured \(lines) writes")
                return
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        log("\(name) did not capture \(count) writes in time")
    }

    /// Waits until a node's survey count grows between two looks 100 ms apart (a sync is landing), at most 30 s.
    private func waitUntilReceiving(_ name: String) async {
        let deadline = Date().addingTimeInterval(30)
        var last = Self.surveyCount(dir(name))
        while Date() < deadline {
            try? await Task.sleep(for: .milliseconds(100))
            let now = Self.surveyCount(dir(name))
            if now > last + 50 {
                log("\(name) is receiving a sync (\(now) rows)")
                return
            }
            last = now
        }
        log("\(name) never seemed to receive a sync; killing it anyway")
    }

    /// How the final checks open a node's replica (after the nodes stopped): its policies and key.
    private static func checkingConfiguration(_ directory: NodeDirectory) throws -> ReplicaConfiguration {
        var configuration = ReplicaConfiguration(policies: try directory.policies())
        configuration.encryption = try directory.vault()?.encryption
        return configuration
    }

    private static func surveyIDs(_ directory: String) -> Set<String> {
        var configuration = Configuration()
        configuration.readonly = true
        return
            (try? NodeDirectory(directory).replicaFile().queue(configuration).read { db in
                Set(try String.fetchAll(db, sql: "SELECT id FROM surveyResponse"))
            }) ?? []
    }

    private static func surveyCount(_ directory: String) -> Int {
        var configuration = Configuration()
        configuration.readonly = true
        return
            (try? NodeDirectory(directory).replicaFile().queue(configuration).read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM surveyResponse") ?? 0
            }) ?? 0
    }

    // MARK: Checks

    /// Polls the replica files (read-only, while the nodes run) until the full nodes (central,
    /// call centers) hold the same commits and every ward node's feed reflects all of central's
    /// (a ward holds its scope, not the commit log), and that state holds still: two polls in a row
    /// find the same commits and no node acknowledged a write in between, and the traffic is over
    /// (a node restarted mid-run counts its remaining traffic from its own start-up, so it may write
    /// a little after the duration). Judging a moment between two writes would stop the nodes before
    /// the last write had travelled.
    private func waitForConvergence(timeout: Double) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        let trafficOver = trafficStart.addingTimeInterval(topology.duration + 3)
        let central = topology.nodes.first { $0.role == "central" }!
        var previous: [String]?
        while Date() < deadline {
            let full = topology.nodes.filter { $0.role != "ward" }.compactMap { try? Self.peek(dir($0.name)) }
            let wardsCaughtUp = topology.nodes.filter { $0.role == "ward" }.allSatisfy {
                SyncProgress.wardCaughtUp(ward: dir($0.name), central: dir(central.name))
            }
            let agreed = full.count == topology.nodes.count(where: { $0.role != "ward" }) && Set(full).count == 1 && wardsCaughtUp
            let snapshot = agreed ? full + acknowledgementLogSizes() : nil
            if let snapshot, snapshot == previous, Date() >= trafficOver {
                log("converged: \(full[0])")
                return true
            }
            previous = snapshot
            try await Task.sleep(for: .milliseconds(500))
        }
        log("did not converge within \(timeout) s")
        return false
    }

    /// The size of every node's acknowledgement log (`NAME.acks`), as text, in node order.
    private func acknowledgementLogSizes() -> [String] {
        topology.nodes.map { node in
            let path = work.appendingPathComponent("\(node.name).acks").path
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? -1
            return "\(node.name).acks=\(size)"
        }
    }

    private static func peek(_ directory: String) throws -> String {
        let summary = try Replica.summary(of: NodeDirectory(directory).replicaFile())
        let commits = summary.newestCommits.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }
        return "surveys=\(summary.rows["surveyResponse"] ?? 0) commits=\(commits.joined(separator: ","))"
    }

    /// With every node stopped: identical replicas, and every acknowledged write present everywhere.
    private func finalCheck() throws -> Outcome {
        var dumps: [String: ReplicaDump] = [:]
        var rows: [String: Int] = [:]
        var problems: [String] = []
        var acknowledged: Set<String> = []
        // Every node's log, and the logs of nodes' lives before a restore.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: work.path)) ?? [] where name.hasSuffix(".acks") {
            if let text = try? String(contentsOfFile: work.appendingPathComponent(name).path, encoding: .utf8) {
                acknowledged.formUnion(text.split(separator: "\n").map(String.init))
            }
        }
        var probes: Set<String> = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: work.path)) ?? [] where name.hasSuffix(".probes") {
            if let text = try? String(contentsOfFile: work.appendingPathComponent(name).path, encoding: .utf8) {
                probes.formUnion(text.split(separator: "\n").map(String.init))
            }
        }
        if !probes.isEmpty { log("\(probes.count) probes written by nodes on the next release") }
        var missing = 0
        let central = topology.nodes.first { $0.role == "central" }!
        let centralDirectory = NodeDirectory(dir(central.name))
        let centralReplica = try Replica.open(at: centralDirectory.replicaPath, configuration: try Self.checkingConfiguration(centralDirectory))
        for node in topology.nodes {
            let directory = NodeDirectory(dir(node.name))
            let replica = try Replica.open(at: directory.replicaPath, configuration: try Self.checkingConfiguration(directory))
            if node.role == "ward", replica.policies.isScoped {
                // A ward node holds its scope: exactly what central holds in it, values and merge state alike.
                let certificate = try directory.identity().certificate
                let scope = FeedScope(node: certificate.nodeID, wards: Set(certificate.wards))
                if try replica.scopedDump(for: nil) != centralReplica.scopedDump(for: scope) {
                    problems.append("\(node.name) does not hold exactly its scope of central's rows")
                }
                continue
            }
            dumps[node.name] = try replica.canonicalDump()
            rows[node.name] = try replica.statistics().rows["surveyResponse"] ?? 0
            let present = try replica.reader.read { db in Set(try String.fetchAll(db, sql: "SELECT id FROM surveyResponse")) }
            if !probes.isEmpty {
                let held = try replica.reader.read { db in Set(try String.fetchAll(db, sql: "SELECT id FROM \(TrafficService.probeTable)")) }
                if !probes.isSubset(of: held) { problems.append("\(node.name) lacks \(probes.subtracting(held).count) probes a newer node wrote") }
            }
            let lost = acknowledged.subtracting(present).count
            if lost > 0 {
                problems.append("\(node.name) lacks \(lost) acknowledged writes; its vector \(try replica.versionVector().sorted.map { "\($0.origin):\($0.seq)" })")
                // What a failure needs to be understood (rules name tables and columns, never values).
                for quarantine in try replica.quarantines() {
                    problems.append("\(node.name) quarantines \(quarantine.origin) from commit \(quarantine.seq): \(quarantine.rule)")
                }
            }
            missing += lost
        }
        if Set(dumps.values).count != 1 { problems.append("replicas differ after stopping") }
        for (name, issued) in issuedAt {
            let now = try NodeDirectory(dir(name), unlock: .keyFile(keyFile(name))).identity().certificate
            if now.issuedAt <= issued { problems.append("\(name)'s certificate was not renewed") } else { log("\(name)'s certificate was renewed") }
        }
        return Outcome(converged: problems.isEmpty, seconds: 0, rows: rows, acknowledged: acknowledged.count, missing: missing, problems: problems)
    }

    // MARK: Helpers

    private func dir(_ name: String) -> String { work.appendingPathComponent(name).path }
    private func key(_ link: [String]) -> String { link.joined(separator: "→") }

    private func cleanUp() {
        for process in processes.values where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for proxy in proxies.values { proxy.stop() }
        if ProcessInfo.processInfo.environment["SUIFANG_KEEP_TESTNET"] == nil { try? FileManager.default.removeItem(at: work) }
    }

    /// A loopback port that was free a moment ago, from below the kernel's ephemeral range
    /// (32768 and up on Linux): a node is told its port before it binds it, and a port picked among
    /// the ephemeral ones may be taken meanwhile by any outgoing connection (the testnet's own
    /// proxies make many). Never the same port twice in one process.
    package static func freePort() async throws -> Int {
        for _ in 0..<200 {
            let candidate = Int.random(in: 20_000..<32_000)
            guard handedOut.withLock({ $0.insert(candidate).inserted }) else { continue }
            guard let probe = try? await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: candidate).get()
            else { continue }
            try? await probe.close()
            return candidate
        }
        throw NodeSetupError("no free port between 20000 and 32000")
    }

    private static let handedOut = Mutex<Set<Int>>([])
}
