import Foundation
import Logging
import Replica
import ServiceLifecycle
import SyncProtocol

/// Keeps a node's certificates current: checks every `interval` (and at start), and when the sync
/// certificate or the HTTPS certificate is due (``RenewalSchedule``) asks central to renew both,
/// installs them and takes the new sync certificate into use at once. A failure is logged and
/// retried after `retry`, or as soon as a sync session with central starts again; a refusal because
/// the certificate expired says to re-enrol.
package struct CertificateRenewer: Service {
    package let runtime: NodeRuntime
    package let directory: NodeDirectory
    package let central: Endpoint
    package var schedule = RenewalSchedule()
    package var interval: Duration = .seconds(3600)
    package var retry: Duration = .seconds(600)

    package init(runtime: NodeRuntime, directory: NodeDirectory, central: Endpoint, schedule: RenewalSchedule = RenewalSchedule()) {
        self.runtime = runtime
        self.directory = directory
        self.central = central
        self.schedule = schedule
    }

    /// Sleeps `wait`; after a failed renewal (`sessions` set), wakes as soon as a new sync session
    /// with central starts: a node back from weeks offline renews when its link returns, not up to
    /// `retry` later.
    private func sleep(_ wait: Duration, orUntilCentralSessionAfter sessions: Int?) async throws {
        guard let sessions else { return try await Task.sleep(for: wait) }
        let deadline = ContinuousClock.now + wait
        while ContinuousClock.now < deadline, runtime.centralSessionsStarted == sessions {
            try await Task.sleep(for: .seconds(1))
        }
    }

    /// Whether either certificate is due at `now` (ms since 1970).
    package func isDue(now: UInt64) -> Bool {
        if schedule.isDue(runtime.identity.certificate, now: now) { return true }
        guard let expiry = directory.httpCertificateExpiry() else { return false }
        let left = expiry.timeIntervalSince1970 * 1000 - Double(now)
        return left <= Double(schedule.before ?? UInt64(HospitalCA.nodeValidity * 1000 / 3))
    }

    package func run() async throws {
        try await runUntilShutdown {
            while !Task.isCancelled {
                var wait = interval
                var sessionsAtFailure: Int?
                let now = runtime.replica.wallClock.now()
                if isDue(now: now) {
                    do {
                        let renewed = try await directory.renewCertificates(at: central, identity: runtime.identity, now: now)
                        runtime.adopt(renewed)
                        runtime.logger.notice(
                            "certificates renewed",
                            metadata: [
                                "certificate.expires": "\(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(renewed.certificate.expiresAt) / 1000)))",
                                "https": "the web UI serves the renewed HTTPS certificate after the next restart",
                            ])
                    } catch {
                        runtime.logger.warning("certificate renewal failed; retrying", metadata: ["sync.peer.address": "\(central)", "error": "\(error)"])
                        wait = retry
                        sessionsAtFailure = runtime.centralSessionsStarted
                    }
                }
                try await sleep(wait, orUntilCentralSessionAfter: sessionsAtFailure)
            }
        }
    }
}
