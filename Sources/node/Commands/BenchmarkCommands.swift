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
    @OptionGroup var policies: PolicyOptions

    func run() async throws {
        try await SyncBenchmark(scaleDown: scaleDown, policies: policies.policyDirectory).run()
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
