import ArgumentParser
import Benchmarks
import NodeRuntime
import Testnets

/// The command line of ``ReplicaBenchmark``.
struct ReplicaBenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replica", abstract: "Benchmark the replica against plain SQLite.")

    @Option(help: "Divide every workload size by this (for a quick smoke run).")
    var scaleDown: Int = 1
    @Option(help: "Run only this metric group: capture, merge, since.")
    var only: String?
    @Flag(help: "Keep the scratch databases and print where they are (to inspect what the bytes are).")
    var keepScratch = false

    func run() throws {
        try ReplicaBenchmark(scaleDown: scaleDown, only: only, keepScratch: keepScratch).run()
    }
}

/// The command line of ``SyncBenchmark``.
struct SyncBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sync", abstract: "Benchmark node-to-node sync.")

    @Option(help: "Divide every workload size by this (for a quick smoke run).")
    var scaleDown: Int = 1
    @Option(help: "Run only this metric group: initial (the 1,000,000-change sync into a fresh node), scoped (the ward feed).")
    var only: String?
    @OptionGroup var policies: PolicyOptions

    func run() async throws {
        try await SyncBenchmark(scaleDown: scaleDown, policies: policies.policyDirectory, only: only).run()
    }
}

/// The command line of ``DomainBenchmark``.
struct DomainBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "domain", abstract: "Benchmark the CRM's queries and API against plain SQLite.")

    @OptionGroup var policies: PolicyOptions
    @Option(help: "Divide every workload size by this (for a quick smoke run).")
    var scaleDown: Int = 1
    @Option(help: "Run only this metric group: nps, phone, api, mllp.")
    var only: String?

    func run() async throws {
        try await DomainBenchmark(policies: policies.policyDirectory, scaleDown: scaleDown, only: only).run()
    }
}

/// The command line of ``FleetBenchmark``.
struct FleetBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fleet", abstract: "Benchmark one central with a fleet of ward gateways.")

    @OptionGroup var policies: PolicyOptions
    @Option(help: "Ward gateways.")
    var peers = 200
    @Option(help: "Child processes the gateways run in.")
    var processes = 4
    @Option(help: "Seconds of live traffic before central's outage.")
    var seconds = 60.0
    @Option(help: "Seconds central is away before every gateway reconnects at once.")
    var outageSeconds = 10.0

    func run() async throws {
        try await FleetBenchmark(peers: peers, processes: processes, seconds: seconds, outageSeconds: outageSeconds, policies: policies.policyDirectory).run()
    }
}

/// `suifang bench fleet-peers`: the gateways of one child process of ``FleetBenchmark``.
struct FleetPeersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fleet-peers", abstract: "Run some of bench fleet's gateways.", shouldDisplay: false)

    @Option var scratch: String
    @Option var first: Int
    @Option var count: Int
    @Option var central: String
    @Option var seconds: Double

    func run() async throws {
        try await FleetPeers(scratch: scratch, first: first, count: count, central: central, seconds: seconds).run()
    }
}

/// The command line of ``ArchiveBenchmark``.
struct ArchiveBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "archive", abstract: "Benchmark central's archive into PostgreSQL (started here).")

    @Option(help: "Responses archived from nothing (the rate).")
    var rows = 200_000
    @Option(help: "Seconds of fleet-rate commits with the archive running (the lag).")
    var seconds: Double = 30

    func run() async throws {
        try await ArchiveBenchmark(rows: rows, lagSeconds: seconds).run()
    }
}
