import Logging
import Replica
import ServiceLifecycle

/// Looks once a second whether another process committed to the node's replica (a CLI command
/// such as `suifang revoke` beside the running daemon) and, if so, lets the sync sessions know:
/// they push the new commits to peers and re-check revocations at once.
struct OtherProcessWatcher: Service {
    let replica: Replica
    var interval: Duration = .seconds(1)
    let logger: Logger

    func run() async throws {
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
}
