import ArgumentParser
import Benchmarks
import Foundation
import NodeHTTP
import NodeRuntime
import Testnets

/// The one node binary: every ward gateway, call-center node and the central server run it.
@main
struct Suifang: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suifang",
        abstract: "Suifang (随访): offline-first patient follow-up node.",
        subcommands: [
            Init.self, Enroll.self, Serve.self, User.self, Token.self, Status.self, SyncNow.self, Revoke.self, Rekey.self, Testnet.self,
            Demo.self, Bench.self, Policies.self, Debug.self,
        ]
    )

    /// Every file the node creates (keys, tokens, the replica, its WAL and journal, temporary
    /// files) is created readable by its owner only, and every directory 0700: the mode is set
    /// before anything exists, so no key or patient row is ever world-readable, even for a moment.
    static func main() async {
        umask(0o077)
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
