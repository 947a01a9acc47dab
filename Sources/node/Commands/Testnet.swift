import ArgumentParser
import Benchmarks
import Foundation
import NodeHTTP
import NodeRuntime
import Testnets

/// `suifang testnet run FILE`: a multi-node testnet on loopback with injected faults.
struct Testnet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run multi-node testnets with fault injection.", subcommands: [Run.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run one testnet file; exit 0 only if every replica converged and no acknowledged write is missing.")

        @Argument(help: "The testnet file (testnets/NAME.json).")
        var file: String
        @OptionGroup var policies: PolicyOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let topology = try TestnetTopology.load(file)
            _ = try policies.load()
            let json = output.json
            let runner = try TestnetRunner(topology: topology, policiesPath: URL(fileURLWithPath: policies.resolvedPath).path) { line in
                if !json { print("[\(topology.name)] \(line)") }
            }
            let outcome = try await runner.run()
            if json {
                printJSON([
                    "testnet": topology.name, "converged": outcome.converged, "seconds": outcome.seconds, "rows": outcome.rows,
                    "acknowledgedWrites": outcome.acknowledged, "missingWrites": outcome.missing, "problems": outcome.problems,
                ])
            } else {
                print(
                    "[\(topology.name)] \(outcome.converged ? "PASS" : "FAIL"): \(topology.nodes.count) nodes, \(outcome.acknowledged) acknowledged writes, "
                        + "\(outcome.missing) missing, replicas \(outcome.converged ? "identical" : "differ"), \(String(format: "%.1f", outcome.seconds)) s")
                for problem in outcome.problems { print("[\(topology.name)]   \(problem)") }
            }
            if !outcome.converged { throw ExitCode(1) }
        }
    }
}
