import ArgumentParser
import Benchmarks
import NodeHTTP
import NodeRuntime
import Testnets

/// `suifang bench SUITE`: release-build benchmarks against plain SQLite measured in the same run.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run benchmarks (build with -c release). Prints one JSON object per metric.",
        subcommands: [
            ReplicaBenchmarkCommand.self, SyncBenchmarkCommand.self, DomainBenchmarkCommand.self, FleetBenchmarkCommand.self, FleetPeersCommand.self, ArchiveBenchmarkCommand.self,
        ]
    )
}
