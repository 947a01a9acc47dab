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
        abstract: "Inspect the conflict policies, or install a release's into a node.",
        subcommands: [Check.self, Install.self]
    )

    /// `suifang policies install`: the upgraded binary's policy set into a stopped node.
    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install a release's conflict policies into a stopped node.",
            discussion: """
                Run after replacing the binary, before starting the node again (docs/OPERATIONS.md, Upgrade). Takes the
                set this binary ships, or --policies DIR. Only a set that adds tables or nullable columns at the end
                is installed: the node goes on syncing with peers still on the old set, and merges what it read past of
                newer peers' commits when it starts.
                """)

        @Option(help: "The node's data directory.")
        var dir: String
        @OptionGroup var policies: PolicyOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let upgrade = try NodeDirectory(dir).installPolicies(upgradingTo: policies.policyDirectory)
            if output.json {
                printJSON(["previousHash": upgrade.previousHash, "hash": upgrade.newHash, "changes": upgrade.changes.map(\.description)])
            } else if upgrade.previousHash == upgrade.newHash {
                print("the node already runs these policies (hash \(upgrade.newHash))")
            } else {
                print("installed policies \(upgrade.newHash) (were \(upgrade.previousHash)): \(upgrade.changes.count) changes")
                for change in upgrade.changes { print("  \(change)") }
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the policy files and print their content hash.",
            discussion: """
                With --against OLD_DIR (the policies an earlier release shipped), also lists every change since and
                exits 1 when one breaks the schema evolution rules of docs/CONFLICT-POLICIES.md: a release may add
                tables, nullable columns at the end and lifecycle states at the end, and relax a rule; nothing else.
                """)

        @OptionGroup var policies: PolicyOptions
        @Option(help: "The previous release's policy directory: refuse changes the evolution rules do not allow.")
        var against: String?
        @OptionGroup var output: OutputOptions

        func run() throws {
            let set = try policies.load()
            if let against {
                return try compare(set, with: try PolicyDirectory(against).load(), from: against)
            }
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

        private func compare(_ set: PolicySet, with old: PolicySet, from path: String) throws {
            let evolution = PolicyEvolution(from: old, to: set)
            if output.json {
                let changes = evolution.changes.map { change -> [String: Any] in
                    ["table": change.table, "column": change.column ?? NSNull(), "change": change.what, "allowed": change.isAllowed]
                }
                printJSON(["hash": set.contentHash, "against": old.contentHash, "compatible": evolution.isCompatible, "changes": changes])
            } else {
                print("policy hash \(set.contentHash), against \(old.contentHash) (\(path)): \(evolution.changes.isEmpty ? "no changes" : "\(evolution.changes.count) changes")")
                for change in evolution.changes { print("  \(change)") }
            }
            guard evolution.isCompatible else {
                let refused = evolution.changes.filter { !$0.isAllowed }.count
                throw CommandFailure(
                    "\(refused) change\(refused == 1 ? "" : "s") break the schema evolution rules (docs/CONFLICT-POLICIES.md): nodes on the two sets could not merge each other's commits"
                )
            }
        }
    }
}
