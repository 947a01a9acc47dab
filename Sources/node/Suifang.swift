import ArgumentParser

/// The one node binary: every ward gateway, call-center node and the central server run it.
@main
struct Suifang: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suifang",
        abstract: "Suifang (随访): offline-first patient follow-up node.",
        subcommands: [Demo.self, Bench.self, Policies.self, Debug.self]
    )
}
