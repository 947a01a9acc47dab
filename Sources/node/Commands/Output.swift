import Benchmarks
import Foundation
import Logging
import NodeHTTP
import NodeRuntime
import Testnets

/// A command that could not do its work (a node it cannot reach, a name it does not know): not a
/// usage error, so the CLI prints the message alone and exits 1 (usage errors exit 64 with the usage).
struct CommandFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Prints one JSON object (sorted keys) on one line.
func printJSON(_ object: [String: Any]) {
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
    print(String(decoding: data, as: UTF8.self))
}
