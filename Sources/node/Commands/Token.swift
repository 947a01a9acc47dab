import ArgumentParser
import Foundation
import NodeRuntime

/// `suifang token`: credentials for machines (the PBX, the HIS engine, the SMS gateway's callbacks)
/// that call this node's API. The secret is printed once and kept only as a hash.
struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage machine credentials (bearer tokens for the PBX, HIS engine, SMS gateway).",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a machine credential and print its token (once).",
            discussion: "Example: suifang token create --dir data/central --name pbx --scope screen-pop")

        @OptionGroup var node: NodeOptions
        @Option(help: "The machine's name, e.g. pbx.")
        var name: String
        @Option(help: "What it may do (repeat): \(MachineScope.allCases.map(\.rawValue).joined(separator: ", ")).")
        var scope: [String] = []
        @OptionGroup var output: OutputOptions

        func run() throws {
            let scopes = try scope.map { text in
                guard let scope = MachineScope(rawValue: text) else {
                    throw ValidationError("unknown scope '\(text)': use \(MachineScope.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return scope
            }
            let (_, _, runtime) = try node.open(logger: quietLogger)
            let token = try runtime.machines.create(name: name, scopes: scopes)
            if output.json {
                printJSON(["name": name, "scopes": scopes.map(\.rawValue), "token": token])
            } else {
                print("machine credential '\(name)' (\(scopes.map(\.rawValue).joined(separator: ", "))); its token, shown only now:")
                print(token)
                print("the machine sends it as: Authorization: Bearer \(token.prefix(8))…")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List machine credentials (never their tokens).")

        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let (_, _, runtime) = try node.open(logger: quietLogger)
            let credentials = try runtime.machines.list()
            if output.json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(credentials), as: UTF8.self))
                return
            }
            if credentials.isEmpty { print("no machine credentials") }
            for credential in credentials {
                let state = credential.revokedAt.map { "revoked \(Self.date($0))" } ?? "active"
                print(
                    "\(credential.name): \(credential.scopes.map(\.rawValue).joined(separator: ",")), \(state), created \(Self.date(credential.createdAt)), last used \(credential.lastUsedAt.map(Self.date) ?? "never")"
                )
            }
        }

        static func date(_ milliseconds: Int64) -> String {
            ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a machine credential at once.")

        @OptionGroup var node: NodeOptions
        @Argument(help: "The credential's name.")
        var name: String

        func run() throws {
            let (_, _, runtime) = try node.open(logger: quietLogger)
            try runtime.machines.revoke(name: name)
            print("machine credential '\(name)' revoked")
        }
    }
}
