import Foundation
import Hummingbird
import NodeRuntime
import Replica

/// A node's status: what `suifang status --json` prints and `GET /api/status` returns.
package struct NodeStatusReport: Codable, ResponseEncodable, Sendable {
    package struct Peer: Codable, Sendable {
        package var name: String
        package var nodeId: String
        /// central, ward or callcenter, as its certificate says (nil until it has connected).
        package var role: String?
        package var address: String
        package var connected: Bool
        package var lastContactMsAgo: Int64
        /// Commits this node holds that the peer (as last known) lacks.
        package var pendingOut: UInt64
        /// Commits the peer holds (as last known) that this node lacks.
        package var pendingIn: UInt64
        /// How long the peer has been behind this node (0 when it holds everything; nil if it never caught up).
        package var lagMs: Int64?
        package var lastError: String?
        /// When the certificate it last presented expires, ms since 1970 (nil until it connected).
        package var certificateExpiresAt: Int64?
    }

    package var name: String
    package var role: String
    /// The wards a ward node works for (its certificate's).
    package var wards: [String]
    package var nodeId: String
    /// When this node's certificate expires, ms since 1970 (it renews itself before: `serve`).
    package var certificateExpiresAt: Int64
    package var versionVector: [String: UInt64]
    package var rows: [String: Int]
    package var openConflicts: Int
    package var peers: [Peer]
    /// Origins whose commits this node holds back: one broke a declared rule (never a value here).
    package var quarantined: [QuarantinedOrigin]

    package struct QuarantinedOrigin: Codable, Sendable {
        package var nodeId: String
        package var name: String?
        /// The first refused commit.
        package var commit: UInt64
        package var table: String?
        package var rule: String
        package var sinceMsAgo: Int64
    }

    package init(
        name: String, role: String, wards: [String], nodeId: String, certificateExpiresAt: Int64, versionVector: [String: UInt64], rows: [String: Int], openConflicts: Int,
        peers: [Peer],
        quarantined: [QuarantinedOrigin]
    ) {
        self.name = name
        self.role = role
        self.wards = wards
        self.nodeId = nodeId
        self.certificateExpiresAt = certificateExpiresAt
        self.versionVector = versionVector
        self.rows = rows
        self.openConflicts = openConflicts
        self.peers = peers
        self.quarantined = quarantined
    }
}

/// Who this node is and how its links stand, without counting anything: what every page and the
/// link indicator's poll (`/api/status/link`, every 2 s) need.
package struct NodeLinkStatus: Codable, ResponseEncodable, Sendable {
    package var name: String
    package var role: String
    package var nodeId: String
    /// When this node's certificate expires, ms since 1970.
    package var certificateExpiresAt: Int64
    package var peers: [NodeStatusReport.Peer]
}

extension NodeRuntime {
    /// The node's links: cheap (the peer table and the version vector).
    package func linkStatus(_ configuration: NodeConfiguration) throws -> NodeLinkStatus {
        // Public (the pages' link indicator): no address, no error text.
        NodeLinkStatus(
            name: configuration.name, role: replica.role.description, nodeId: configuration.nodeID,
            certificateExpiresAt: Int64(clamping: certificateExpiresAt), peers: try peerReports(redacted: true))
    }

    /// Each peer's link: last contact, what waits in each direction; addresses and errors unless `redacted`.
    private func peerReports(redacted: Bool) throws -> [NodeStatusReport.Peer] {
        let vector = try replica.versionVector()
        // A ward node on central's feed holds central's commits as far as its feed cursor says.
        let held = replica.ownScope != nil ? vector.merging(try replica.feedCursor()) : vector
        let now = Int64(clamping: replica.wallClock.now())
        return try self.peers.peers().map { peer in
            let pendingOut = vector.commitsAhead(of: peer.peerVector), pendingIn = peer.peerVector.commitsAhead(of: held)
            return NodeStatusReport.Peer(
                name: peer.name, nodeId: peer.nodeId, role: peer.role, address: redacted ? "" : peer.address, connected: peer.connected,
                lastContactMsAgo: now - peer.lastContact, pendingOut: pendingOut, pendingIn: pendingIn,
                lagMs: pendingOut == 0 ? 0 : peer.caughtUpAt.map { now - $0 }, lastError: redacted ? nil : peer.lastError,
                certificateExpiresAt: peer.certificateExpiresAt)
        }
    }

    /// The node's whole status, rows of every table counted (`suifang status`, `/api/status`).
    package func statusReport(_ configuration: NodeConfiguration) throws -> NodeStatusReport {
        let link = NodeLinkStatus(
            name: configuration.name, role: replica.role.description, nodeId: configuration.nodeID,
            certificateExpiresAt: Int64(clamping: certificateExpiresAt), peers: try peerReports(redacted: false))
        let vector = try replica.versionVector()
        let now = Int64(clamping: replica.wallClock.now())
        let names = Dictionary(link.peers.map { ($0.nodeId, $0.name) }, uniquingKeysWith: { first, _ in first })
        let quarantined = try replica.quarantines().map { quarantine in
            NodeStatusReport.QuarantinedOrigin(
                nodeId: quarantine.origin.description, name: names[quarantine.origin.description], commit: quarantine.seq,
                table: quarantine.table, rule: quarantine.rule, sinceMsAgo: now - Int64(clamping: quarantine.seenAt))
        }
        return NodeStatusReport(
            name: link.name, role: link.role, wards: replica.identity.wards.sorted(), nodeId: link.nodeId, certificateExpiresAt: link.certificateExpiresAt,
            versionVector: Dictionary(uniqueKeysWithValues: vector.sorted.map { ($0.origin.description, $0.seq) }),
            rows: try replica.statistics().rows, openConflicts: try replica.openConflicts().count, peers: link.peers,
            quarantined: quarantined)
    }
}
