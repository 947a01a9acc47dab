import Foundation
import Logging
import Replica
import ServiceLifecycle

/// A piece of replica housekeeping a running node repeats, off the event loops, until shutdown:
/// a round that fails is logged (the error's type, never its message) and the next one comes.
package struct ReplicaChore: Service {
    /// What the chore does, for the log.
    package let purpose: String
    package let interval: Duration
    package let logger: Logger
    private let round: @Sendable () throws -> Void

    package init(_ purpose: String, every interval: Duration, logger: Logger, round: @escaping @Sendable () throws -> Void) {
        self.purpose = purpose
        self.interval = interval
        self.logger = logger
        self.round = round
    }

    package func run() async throws {
        try await runUntilShutdown {
            while !Task.isCancelled {
                do {
                    try await blocking(round)
                } catch {
                    logger.warning("could not \(purpose)", metadata: ["error.type": "\(type(of: error))"])
                }
                try await Task.sleep(for: interval)
            }
        }
    }
}

extension ReplicaChore {
    /// Packs the replica's older loose commits every minute (see `Replica.packCommits()`): the
    /// bookkeeping a local write leaves for later so that the write's own transaction stays small.
    package static func commitPacking(_ replica: Replica, every interval: Duration = .seconds(60), logger: Logger) -> ReplicaChore {
        ReplicaChore("pack stored commits", every: interval, logger: logger) { try replica.packCommits() }
    }

    /// Looks once a second whether another process committed to the node's replica (a CLI command
    /// such as `suifang revoke` beside the running daemon) and, if so, lets the sync sessions know:
    /// they push the new commits to peers and re-check revocations at once.
    package static func otherProcessWatch(_ replica: Replica, every interval: Duration = .seconds(1), logger: Logger) -> ReplicaChore {
        ReplicaChore("check the replica for other writers", every: interval, logger: logger) {
            if try replica.noticeOtherProcesses() { logger.debug("another process committed to the replica") }
        }
    }

    /// On a ward node under scoped policies, purges every ten minutes what left its scope by the
    /// passing of time (patients discharged longer ago than the window; see `Replica.purgeOutOfScope()`).
    /// Central's feed says when a patient moves away; the clock is the ward's own to watch.
    package static func scopePurge(_ replica: Replica, every interval: Duration = .seconds(600), logger: Logger) -> ReplicaChore {
        ReplicaChore("purge rows that left the node's scope", every: interval, logger: logger) {
            let purged = try replica.purgeOutOfScopeNow()
            if purged > 0 { logger.info("purged rows that left this node's scope", metadata: ["replica.purged": "\(purged)"]) }
        }
    }

    /// Takes the node's scheduled backups (see ``BackupSchedule``): looks every minute whether one
    /// is due, writes it while the node runs, and deletes those beyond the number kept.
    package static func scheduledBackup(
        _ directory: NodeDirectory, _ schedule: BackupSchedule, every interval: Duration = .seconds(60), logger: Logger
    )
        -> ReplicaChore
    {
        ReplicaChore("take a scheduled backup", every: interval, logger: logger) {
            let outcome: NodeDirectory.ScheduledBackupOutcome
            do {
                outcome = try directory.runScheduledBackup(schedule, now: SystemWallClock().now())
            } catch let error as NodeSetupError {
                // Its message names paths and causes (a full disk, a directory it may not write), never data.
                NodeCounters.backup(succeeded: false)
                logger.warning("scheduled backup failed", metadata: ["backup.error": "\(error.description)"])
                return
            } catch {
                NodeCounters.backup(succeeded: false)
                throw error
            }
            if outcome.written != nil { NodeCounters.backup(succeeded: true) }
            if let written = outcome.written {
                logger.info(
                    "scheduled backup written", metadata: ["backup.file": "\(URL(fileURLWithPath: written).lastPathComponent)", "backup.removed": "\(outcome.removed.count)"])
            }
        }
    }
}
