import Foundation
import Metrics
import Prometheus
import Replica
import SyncProtocol

/// The node's metrics, read by Prometheus at `GET /metrics` (docs/OPERATIONS.md lists them).
///
/// Events are counted where they happen through swift-metrics (`Counter(label:dimensions:)`):
/// sync sessions, rows and bytes per peer, refused handshakes, HL7 messages, SMS, and every HTTP
/// request by route and status (Hummingbird's `MetricsMiddleware`). `suifang serve` makes this
/// node's registry the process's metrics backend (``bootstrap()``); elsewhere (tests, tools) the
/// counters go nowhere. What is a state rather than an event (peers' lag, quarantined origins,
/// the replica's size) is read when Prometheus scrapes.
///
/// Labels name peers by their certificate's node name, routes by their template
/// (`/patients/{id}`), outcomes by their code: never a value from a row, so no patient data can
/// reach a label.
package final class NodeMetrics: Sendable {
    /// Where every metric of this node is kept.
    package let registry = PrometheusCollectorRegistry()
    /// The replica's database file, whose size is reported (nil: not reported).
    let replicaPath: String?

    package init(replicaPath: String?) {
        self.replicaPath = replicaPath
    }

    /// Makes this registry the process's swift-metrics backend (once per process; `serve` does).
    package func bootstrap() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    /// The exposition text (Prometheus format 0.0.4), the states read now.
    package func exposition(of runtime: NodeRuntime) -> [UInt8] {
        refreshStates(runtime)
        return registry.emitToBuffer()
    }

    private func refreshStates(_ runtime: NodeRuntime) {
        let replica = runtime.replica
        registry.makeGauge(name: "suifang_build_info", labels: [("version", NodeRelease.version), ("role", replica.role.description)]).set(to: 1)
        let files = ["", "-wal"].compactMap { suffix in
            replicaPath.flatMap { try? FileManager.default.attributesOfItem(atPath: $0 + suffix)[.size] as? NSNumber }?.int64Value
        }
        registry.makeGauge(name: "suifang_replica_bytes", help: "Size of the replica's files (database and write-ahead log)").set(to: Double(files.reduce(0, +)))
        registry.makeGauge(name: "suifang_quarantined_origins", help: "Nodes whose commits this node holds back (forged, equivocating or breaking a rule)")
            .set(to: Double((try? replica.quarantines().count) ?? 0))
        let own = (try? replica.versionVector()) ?? VersionVector()
        let now = Int64(clamping: replica.wallClock.now())
        for peer in (try? runtime.peers.peers()) ?? [] {
            let labels = [("peer", peer.name)]
            let lacking = own.entries.reduce(UInt64(0)) { sum, entry in sum + (entry.value > peer.peerVector[entry.key] ? entry.value - peer.peerVector[entry.key] : 0) }
            registry.makeGauge(name: "suifang_sync_peer_lag_commits", labels: labels, help: "Commits this node holds that the peer had not acknowledged at last contact")
                .set(to: Double(lacking))
            registry.makeGauge(name: "suifang_sync_peer_connected", labels: labels, help: "1 while a sync session with the peer is open").set(to: peer.connected ? 1 : 0)
            registry.makeGauge(name: "suifang_sync_peer_last_contact_seconds", labels: labels, help: "Seconds since the peer was last heard from")
                .set(to: Double(max(0, now - peer.lastContact)) / 1000)
        }
    }
}

/// The counters a running node's services increment (through swift-metrics).
package enum NodeCounters {
    /// A sync session with `peer` began.
    static func sessionStarted(peer: String, role: String) {
        Counter(label: "suifang_sync_sessions_total", dimensions: [("peer", peer), ("role", role)]).increment()
    }

    /// An outbound link found its peer unreachable (after being up, or at start).
    static func linkLost() {
        Counter(label: "suifang_sync_link_losses_total").increment()
    }

    /// A sync session ended with an error (a lost connection, a refusal).
    static func sessionFailed(peer: String) {
        Counter(label: "suifang_sync_session_errors_total", dimensions: [("peer", peer)]).increment()
    }

    /// A handshake was refused, by this node or by the peer; by reason only (the address is not a label).
    static func handshakeRefused(_ code: SyncError.Code) {
        Counter(label: "suifang_sync_rejections_total", dimensions: [("reason", "\(code)")]).increment()
    }

    /// Rows and compressed bytes a session moved since its previous report.
    static func transferred(peer: String, from previous: SyncReport, to report: SyncReport) {
        for (direction, rows, bytes) in [
            ("in", report.rowsReceived - previous.rowsReceived, report.bytesReceived - previous.bytesReceived),
            ("out", report.rowsSent - previous.rowsSent, report.bytesSent - previous.bytesSent),
        ] {
            if rows > 0 { Counter(label: "suifang_sync_rows_total", dimensions: [("peer", peer), ("direction", direction)]).increment(by: rows) }
            if bytes > 0 { Counter(label: "suifang_sync_bytes_total", dimensions: [("peer", peer), ("direction", direction)]).increment(by: bytes) }
        }
    }

    /// An HL7 message was answered with `code` (AA, AE, AR).
    static func hl7Message(_ code: String) {
        Counter(label: "suifang_mllp_messages_total", dimensions: [("ack", code)]).increment()
    }

    /// MLLP connections refused (not allowed, too many).
    static func mllpConnectionRefused(_ reason: String) {
        Counter(label: "suifang_mllp_refused_connections_total", dimensions: [("reason", reason)]).increment()
    }

    /// One dispatch round's SMS outcomes.
    static func sms(sent: Int, failed: Int, retried: Int, deferred: Int) {
        for (outcome, count) in [("sent", sent), ("failed", failed), ("retried", retried), ("deferred", deferred)] where count > 0 {
            Counter(label: "suifang_sms_total", dimensions: [("outcome", outcome)]).increment(by: count)
        }
    }

    /// A scheduled backup was written, or failed.
    static func backup(succeeded: Bool) {
        Counter(label: "suifang_backups_total", dimensions: [("outcome", succeeded ? "written" : "failed")]).increment()
    }
}
