import ArgumentParser
import Foundation
import NodeRuntime

/// `suifang rekey`: a new data key for a stopped node, its replica's pages and sealed keys
/// re-encrypted under it; optionally sealed under a new unlock secret.
struct Rekey: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-encrypt a stopped node's replica and keys under a new data key.",
        discussion: """
            Stop the node first (serve holds DIR/node.lock). Every page is authenticated under the old
            key and sealed under the new one; files are swapped only when all are written and flushed,
            and a rekey cut short by a crash is finished or undone the next time the node is unlocked.
            With --new-unlock the new data key is sealed under a new secret (e.g. a new key file) and
            node.json records its place; the old secret no longer opens anything.
            """)

    @Option(help: "The node's data directory.")
    var dir: String
    @OptionGroup var unlock: UnlockOptions
    @Option(help: "Seal the new data key under this secret instead: file:PATH (created when missing), credential:NAME or prompt.")
    var newUnlock: String?
    @OptionGroup var output: OutputOptions

    func run() throws {
        let directory = NodeDirectory(dir, unlock: try unlock.source())
        let report = try directory.rekey(newUnlock: try newUnlock.map { try UnlockSource($0) })
        if output.json {
            printJSON(["pages": "\(report.pages)", "secrets": report.secrets.joined(separator: ","), "unlock": report.unlock])
        } else {
            print("re-encrypted \(report.pages) pages and \(report.secrets.joined(separator: ", ")) under a new data key, sealed under \(report.unlock)")
        }
    }
}
