import ArgumentParser
import Benchmarks
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
            Init.self, Enroll.self, Serve.self, User.self, Status.self, SyncNow.self, Revoke.self, Testnet.self,
            Demo.self, Bench.self, Policies.self, Debug.self,
        ]
    )
}
