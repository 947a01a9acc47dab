import Logging
import Replica
import ServiceLifecycle

/// Looks once a second whether another process committed to the node's replica (a CLI command
/// such as `suifang revoke` beside the running daemon) and, if so, lets the sync sessions know:
/// they push the new commits to peers and re-check revocations at once.
package struct OtherProcessWatcher: Service {
    package let replica: Replica
    package var interval: Duration = .seconds(1)
    package let logger: Logger

    package func run() async throws {
        try await runUntilShutdown { try await loop() }
    }

    private func loop() async throws {
        let replica = self.replica
        while !Task.isCancelled {
            do {
                if try await blocking({ try replica.noticeOtherProcesses() }) {
                    logger.debug("another process committed to the replica")
                }
            } catch {
                logger.warning("could not check the replica for other writers", metadata: ["error.type": "\(type(of: error))"])
            }
            try await Task.sleep(for: interval)
        }
    }

    package init(replica: Replica, interval: Duration = .seconds(1), logger: Logger) {
        self.replica = replica
        self.interval = interval
        self.logger = logger
    }
}
