import CRMDomain
import Foundation
import Synchronization

/// Delivers screen pops (来电弹屏) to the desks of the agent the phone system names: each open
/// desk page holds one stream; a call is sent to every stream of that agent.
final class ScreenPopHub: Sendable {
    private let streams = Mutex<[String: [UUID: AsyncStream<String>.Continuation]]>([:])

    /// A stream of HTML snippets for one agent's desk, until the page goes away.
    func subscribe(agent: String) -> AsyncStream<String> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(8))
        streams.withLock { $0[agent, default: [:]][id] = continuation }
        continuation.onTermination = { [weak self] _ in
            self?.streams.withLock { _ = $0[agent]?.removeValue(forKey: id) }
        }
        return stream
    }

    /// Sends a snippet to every open desk of `agent`; returns how many received it.
    @discardableResult
    func publish(_ html: String, to agent: String) -> Int {
        let targets = streams.withLock { Array(($0[agent] ?? [:]).values) }
        for target in targets { target.yield(html) }
        return targets.count
    }
}
