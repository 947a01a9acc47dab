import ArgumentParser
import Benchmarks
import Foundation
import NodeHTTP
import NodeRuntime
import Replica
import Testnets

/// Where the conflict-policy files are.
struct PolicyOptions: ParsableArguments {
    @Option(name: .customLong("policies"), help: "Directory of .policy files (default: $SUIFANG_POLICIES or ./conflict-policies).")
    var directory: String?

    var resolvedPath: String {
        directory ?? ProcessInfo.processInfo.environment["SUIFANG_POLICIES"] ?? "conflict-policies"
    }

    /// The directory these options name.
    var policyDirectory: PolicyDirectory { PolicyDirectory(resolvedPath) }

    func load() throws -> PolicySet {
        try policyDirectory.load()
    }
}

/// `--json` for scripts.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON instead of text.")
    var json = false
}
