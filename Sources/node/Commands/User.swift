import ArgumentParser
import Benchmarks
import CRMDomain
import Foundation
import NodeHTTP
import NodeRuntime
import Testnets

/// `suifang user add`: creates or updates a login account on this node (it replicates to every node).
/// The first admin of a new cluster is made this way; later accounts through the API.
struct User: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage login accounts.", subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create or update an account.")

        @OptionGroup var node: NodeOptions
        @Argument(help: "The user name (a-z, 0-9, '.', '_', '-').")
        var username: String
        @Option(help: "visitor, agent, manager or admin.")
        var role: String
        @Option(help: "The name shown in the UI (default: the user name).")
        var displayName: String?
        @Option(help: "The ward of a bedside visitor.")
        var ward: String?
        @Flag(help: "Read the password from standard input (one line) instead of prompting.")
        var passwordStdin = false

        func run() async throws {
            guard let role = Role(rawValue: role) else { throw ValidationError("role must be visitor, agent, manager or admin") }
            let password: String
            if passwordStdin {
                guard let line = readLine(strippingNewline: true) else { throw ValidationError("no password on standard input") }
                password = line
            } else {
                guard let typed = getpass("password for \(username): ") else { throw ValidationError("no password given") }
                password = String(cString: typed)
            }
            let (_, _, runtime) = try node.open(logger: quietLogger)
            do {
                try await runtime.crm.accounts.saveUser(
                    .system, username: username, displayName: displayName ?? username, role: role,
                    password: password, wardId: ward)
            } catch let error as CRMError {
                throw CommandFailure(error.message)
            }
            print("account '\(username.lowercased())' saved (\(role.rawValue))")
        }
    }
}
