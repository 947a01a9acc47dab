import ArgumentParser
import Benchmarks
import Foundation
import NodeHTTP
import NodeRuntime
import Replica
import Testnets

/// Where the conflict-policy files are.
struct PolicyOptions: ParsableArguments {
    @Option(
        name: .customLong("policies"),
        help: "Directory of .policy files (default: $SUIFANG_POLICIES, else ./conflict-policies, else the set shipped in the binary).")
    var directory: String?

    var resolvedPath: String {
        directory ?? ProcessInfo.processInfo.environment["SUIFANG_POLICIES"] ?? "conflict-policies"
    }

    /// Whether nothing names a directory and there is none here: the binary's own set is used.
    var usesShippedSet: Bool {
        directory == nil && ProcessInfo.processInfo.environment["SUIFANG_POLICIES"] == nil
            && !FileManager.default.fileExists(atPath: "conflict-policies")
    }

    /// The directory these options name, else the set shipped inside the binary.
    var policyDirectory: PolicyDirectory {
        if usesShippedSet, let shipped = try? PolicyDirectory.shipped() { return shipped }
        return PolicyDirectory(resolvedPath)
    }

    func load() throws -> PolicySet {
        try policyDirectory.load()
    }
}

/// `--json` for scripts.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON instead of text.")
    var json = false
}
