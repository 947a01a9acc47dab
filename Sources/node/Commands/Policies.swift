import ArgumentParser
import Benchmarks
import Foundation
import NodeHTTP
import NodeRuntime
import Replica
import Testnets

/// `suifang policies check`: validates the policy files and prints the hash nodes compare.
struct Policies: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect the conflict policies.",
        subcommands: [Check.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate the policy files and print their content hash.")

        @OptionGroup var policies: PolicyOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let set = try policies.load()
            if output.json {
                let object: [String: Any] = ["hash": set.contentHash, "tables": set.tables.map(\.name)]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print("\(set.tables.count) tables, policy hash \(set.contentHash)")
                for table in set.tables {
                    let kinds = Set(table.columns.map(\.policy.keyword)).sorted().joined(separator: ", ")
                    print("  \(table.name)\(table.rowPolicy == .appendOnly ? " (append-only)" : ""): \(kinds)")
                }
            }
        }
    }
}
