import CRMDomain
import Foundation
import GRDB
import Hummingbird
import Logging
import NodeHTTP
import NodeRuntime
import Replica
import UnixSignals

/// `suifang demo`: a local network on loopback — central, two ward gateways and a call-center node,
/// each its own `suifang serve` process with its replica and HTTP API — with the demo hospital
/// loaded at central and synced to the others. Prints every node's URL and the demo logins,
/// then runs until Ctrl-C (or `--seconds`).
package struct DemoNetwork {
    package var policies: PolicyDirectory
    package var directory: String
    package var patients: Int
    package var seed: UInt64
    package var httpPort: Int
    package var seconds: Double
    package var controlPort: Int?

    package init(policies: PolicyDirectory, directory: String, patients: Int, seed: UInt64, httpPort: Int, seconds: Double, controlPort: Int?) {
        self.policies = policies
        self.directory = directory
        self.patients = patients
        self.seed = seed
        self.httpPort = httpPort
        self.seconds = seconds
        self.controlPort = controlPort
    }

    package struct Node {
        var name: String
        var role: String
        var syncPort: Int
        var httpPort: Int
    }

    package func run() async throws {
        let folder = URL(fileURLWithPath: directory)
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let nodes = [
            Node(name: "central", role: "central", syncPort: try await TestnetRunner.freePort(), httpPort: httpPort),
            Node(name: "ward-card", role: "ward", syncPort: try await TestnetRunner.freePort(), httpPort: httpPort + 1),
            Node(name: "ward-orth", role: "ward", syncPort: try await TestnetRunner.freePort(), httpPort: httpPort + 2),
            Node(name: "callcenter", role: "callcenter", syncPort: try await TestnetRunner.freePort(), httpPort: httpPort + 3),
        ]
        let tool = NodeTool()
        try tool.makeCluster(
            in: folder, central: (nodes[0].name, nodes[0].syncPort),
            others: nodes.dropFirst().map { ($0.name, $0.role, $0.syncPort) },
            wards: ["ward-card": ["W-CARD-1", "W-CARD-2"], "ward-orth": ["W-ORTH-1", "W-ORTH-2"]], policies: policies.resolvedPath)
        // Each node reaches central through a proxy of this process, so a link can be cut and healed
        // (`--control-port`: POST /links/NODE/cut and /links/NODE/heal; the browser tests use it).
        var links: [String: FaultProxy] = [:]
        for node in nodes {
            let nodeDirectory = NodeDirectory(folder.appendingPathComponent(node.name).path)
            var configuration = try nodeDirectory.configuration()
            configuration.http = "127.0.0.1:\(node.httpPort)"
            if node.role != "central" {
                let proxy = FaultProxy(name: "\(node.name)→central", targetPort: nodes[0].syncPort)
                links[node.name] = proxy
                configuration.peers = ["127.0.0.1:\(try await proxy.start())"]
            }
            try nodeDirectory.save(configuration)
        }
        defer { for proxy in links.values { proxy.stop() } }
        let proxies = links
        let control = controlPort.map { port in Task { try await Self.serveControl(port: port, links: proxies) } }
        defer { control?.cancel() }

        Self.say("loading the demo hospital (\(patients) patients, seed \(seed)) into central…")
        let started = Date()
        let summary: DemoHospitalSummary
        do {
            let (_, _, runtime) = try NodeRuntime.open(directory: folder.appendingPathComponent("central").path, logger: quietLogger)
            summary = try await HospitalGenerator(seed: seed, patients: patients).load(into: runtime.crm)
        }
        Self.say(
            String(
                format: "  %d departments, %d wards, %d patients, %d admissions, %d surveys, %d complaints (%.1f s)",
                summary.departments, summary.wards, summary.patients, summary.encounters, summary.responses, summary.complaints,
                Date().timeIntervalSince(started)))

        var processes: [Process] = []
        defer { Self.stop(processes) }
        for node in nodes {
            processes.append(
                try tool.start(
                    ["serve", "--dir", folder.appendingPathComponent(node.name).path, "--log-level", "warning"],
                    logPath: folder.appendingPathComponent("\(node.name).log").path))
        }
        Self.say("starting the nodes and syncing the wards and the call center…")
        let target = try Self.rowCount(folder.appendingPathComponent("central").path)
        let centralPath = folder.appendingPathComponent("central").path
        // The call center holds everything central does; a ward node its scope (central's feed to it has caught up).
        func caughtUp(_ node: Node) throws -> Bool {
            let path = folder.appendingPathComponent(node.name).path
            return node.role == "ward" ? SyncProgress.wardCaughtUp(ward: path, central: centralPath) : try Self.rowCount(path) >= target
        }
        let deadline = Date().addingTimeInterval(600)
        while Date() < deadline {
            if try nodes.dropFirst().allSatisfy(caughtUp) { break }
            guard processes.allSatisfy(\.isRunning) else { throw NodeSetupError("a node stopped; see the logs in \(folder.path)") }
            try await Task.sleep(for: .milliseconds(500))
        }
        guard try nodes.dropFirst().allSatisfy(caughtUp) else {
            throw NodeSetupError("the wards and the call center did not catch up with central; see the logs in \(folder.path)")
        }

        let authority = folder.appendingPathComponent("central").appendingPathComponent(NodeDirectory.authorityCertificateFile).path
        let probe = try HTTPSProbe(authorityPEM: String(decoding: try NodeDirectory(centralPath).read(NodeDirectory.authorityCertificateFile), as: UTF8.self))
        for node in nodes { try await Self.waitForHTTPS(probe, port: node.httpPort, name: node.name) }
        Self.say("\nSuifang demo network is up (\(target) rows on central and the call center; each ward node holds its wards' patients):")
        for node in nodes {
            Self.say(
                "  \(node.name.padding(toLength: 11, withPad: " ", startingAt: 0)) \(node.role.padding(toLength: 10, withPad: " ", startingAt: 0)) https://127.0.0.1:\(node.httpPort)/   (sync on 127.0.0.1:\(node.syncPort))"
            )
        }
        Self.say("\ndemo logins (password: suifang-demo):")
        for (name, role) in summary.logins.sorted(by: { $0.key < $1.key }) { Self.say("  \(name.padding(toLength: 11, withPad: " ", startingAt: 0)) \(role)") }
        Self.say("\nevery node serves HTTPS with a certificate from the demo hospital's CA; trust it in the browser or tablet:")
        Self.say("  \(authority)")
        Self.say(
            "\ntry:  curl -s --cacert \(authority) -X POST https://127.0.0.1:\(httpPort)/api/login -H 'Content-Type: application/json' -d '{\"username\":\"manager\",\"password\":\"suifang-demo\"}'"
        )
        Self.say("node directories and logs: \(folder.path)/   — Ctrl-C stops the network")

        // Until Ctrl-C or SIGTERM, or `--seconds` when given.
        let limit = seconds
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await Self.waitForInterrupt() }
            if limit > 0 { group.addTask { try? await Task.sleep(for: .seconds(limit)) } }
            await group.next()
            group.cancelAll()
        }
        Self.say("stopping…")
    }

    /// SIGTERM to every node, SIGKILL to any still running after 10 s.
    package static func stop(_ processes: [Process]) {
        for process in processes where process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(10)
        for process in processes {
            while process.isRunning, Date() < deadline { usleep(100_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }

    /// Prints a line at once, also when stdout is a pipe (the browser tests read it).
    package static func say(_ text: String = "") {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// The demo's control endpoint: cut or heal a node's link to central.
    package static func serveControl(port: Int, links: [String: FaultProxy]) async throws {
        let router = Router()
        router.post("/links/:node/:action") { _, context -> String in
            guard let proxy = links[try context.parameters.require("node")] else { throw HTTPError(.notFound) }
            let cut = try context.parameters.require("action") == "cut"
            proxy.update { $0.partitioned = cut }
            return cut ? "cut" : "healed"
        }
        var logger = Logger(label: "suifang.demo.control")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        try await app.runService()
    }

    /// Waits until a node's API answers `GET /api/health` over HTTPS verified against the hospital CA.
    package static func waitForHTTPS(_ probe: HTTPSProbe, port: Int, name: String) async throws {
        for _ in 0..<100 {
            if (try? await probe.status(port: port, path: "/api/health")) == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw NodeSetupError("\(name)'s HTTPS API on port \(port) does not answer")
    }

    /// Replicated rows in a node's replica, read without disturbing the running node.
    package static func rowCount(_ directory: String) throws -> Int {
        try Replica.summary(of: NodeDirectory(directory).replicaFile()).totalRows
    }

    /// Returns on SIGINT or SIGTERM.
    package static func waitForInterrupt() async {
        for await _ in await UnixSignalsSequence(trapping: .sigint, .sigterm) { return }
    }
}
