import Logging
import Replica
import ServiceLifecycle

/// Packs the replica's older loose commits every minute (see `Replica.packCommits()`): the
/// bookkeeping a local write leaves for later so that the write's own transaction stays small.
struct CommitPackingService: Service {
    let replica: Replica
    var interval: Duration = .seconds(60)
    let logger: Logger

    func run() async throws {
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
}
