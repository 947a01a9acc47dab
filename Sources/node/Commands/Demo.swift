import ArgumentParser
import Benchmarks
import NodeRuntime
import Testnets

/// `suifang demo`: the local demo network (default), or the in-process replica story.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the local demo.",
        subcommands: [DemoNetworkCommand.self, DemoReplicasCommand.self],
        defaultSubcommand: DemoNetworkCommand.self)
}

/// The command line of ``DemoReplicas``.
struct DemoReplicasCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replicas", abstract: "Replicas that work offline, then converge (one process).")

    @OptionGroup var policies: PolicyOptions
    @Option(help: "Where the demo's replica files go (recreated).")
    var directory = "demo-data/replicas"
    @Option(help: "Bedside surveys the ward captures while its link is down.")
    var surveys = 200

    func run() async throws {
        try await DemoReplicas(policies: policies.policyDirectory, directory: directory, surveys: surveys).run()
    }
}

/// The command line of ``DemoNetwork``.
struct DemoNetworkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "network", abstract: "Central, two wards and a call center on loopback, with demo data.")

    @OptionGroup var policies: PolicyOptions
    @Option(help: "Where the nodes' directories go (recreated).")
    var directory = "demo-data/network"
    @Option(help: "Patients in the demo hospital.")
    var patients = 10_000
    @Option(help: "The demo hospital's seed.")
    var seed: UInt64 = 1
    @Option(help: "HTTP port of central; the wards and the call center take the next three.")
    var httpPort = 8080
    @Option(help: "Stop after this many seconds once ready (0: run until Ctrl-C).")
    var seconds: Double = 0
    @Option(help: .hidden) var controlPort: Int?

    func run() async throws {
        try await DemoNetwork(
            policies: policies.policyDirectory, directory: directory, patients: patients, seed: seed, httpPort: httpPort, seconds: seconds, controlPort: controlPort
        ).run()
    }
}
