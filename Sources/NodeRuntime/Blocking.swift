import Logging
import NIOPosix

/// Runs blocking replica upkeep (``ReplicaChore``) on NIO's thread pool, off the event loops.
/// The domain needs none: its reads and writes are `async` on GRDB's own queues.
package func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await NIOThreadPool.singleton.runIfActive(body)
}

/// A logger that drops everything (for commands that print their own output).
package let quietLogger = Logger(label: "suifang", factory: { _ in SwiftLogNoOpLogHandler() })
