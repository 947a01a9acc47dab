import Benchmarks
import Foundation
import Logging
import NodeHTTP
import NodeRuntime
import Testnets

/// Prints one JSON object (sorted keys) on one line.
func printJSON(_ object: [String: Any]) {
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
    print(String(decoding: data, as: UTF8.self))
}
