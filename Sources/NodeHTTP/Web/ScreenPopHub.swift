import CRMDomain
import Foundation
import NodeRuntime
import Synchronization

/// Delivers screen pops (来电弹屏) to the desks of the agent the phone system names: each open
/// desk page holds one stream; a call is sent to every stream of that agent.
package final class ScreenPopHub: Sendable {
    private let streams = Mutex<[String: [UUID: AsyncStream<String>.Continuation]]>([:])

    /// A stream of HTML snippets for one agent's desk, until the page goes away or `end` is called.
    /// An empty string every `heartbeat` lets the server notice a desk that closed.
    package func subscribe(agent: String, heartbeat: Duration = .seconds(15)) -> (stream: AsyncStream<String>, end: @Sendable () -> Void) {
        let id = UUID()
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(8))
        let beat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: heartbeat)
                continuation.yield("")
            }
        }
        streams.withLock { $0[agent, default: [:]][id] = continuation }
        continuation.onTermination = { [weak self] _ in
            beat.cancel()
            self?.streams.withLock { _ = $0[agent]?.removeValue(forKey: id) }
        }
        return (stream, { continuation.finish() })
    }

    /// Sends a snippet to every open desk of `agent`; returns how many received it.
    @discardableResult
    package func publish(_ html: String, to agent: String) -> Int {
        let targets = streams.withLock { Array(($0[agent] ?? [:]).values) }
        for target in targets { target.yield(html) }
        return targets.count
    }
}
