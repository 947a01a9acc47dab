import Logging
import Replica
import ServiceLifecycle

/// Packs the replica's older loose commits every minute (see `Replica.packCommits()`): the
/// bookkeeping a local write leaves for later so that the write's own transaction stays small.
package struct CommitPackingService: Service {
    package let replica: Replica
    package var interval: Duration = .seconds(60)
    package let logger: Logger

    package func run() async throws {
        try await runUntilShutdown { try await loop() }
    }

    private func loop() async throws {
        let replica = self.replica
        while !Task.isCancelled {
            try await Task.sleep(for: interval)
            do {
                try await blocking { try replica.packCommits() }
            } catch {
                logger.warning("could not pack stored commits", metadata: ["error.type": "\(type(of: error))"])
            }
        }
    }

    package init(replica: Replica, interval: Duration = .seconds(60), logger: Logger) {
        self.replica = replica
        self.interval = interval
        self.logger = logger
    }
}
