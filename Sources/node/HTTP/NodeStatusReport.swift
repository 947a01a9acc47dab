import NodeRuntime
import Foundation
import Hummingbird
import Replica

/// A node's status: what `suifang status --json` prints and `GET /api/status` returns.
struct NodeStatusReport: Codable, ResponseEncodable, Sendable {
    struct Peer: Codable, Sendable {
        var name: String
        var nodeId: String
        /// central, ward or callcenter, as its certificate says (nil until it has connected).
        var role: String?
        var address: String
        var connected: Bool
        var lastContactMsAgo: Int64
        /// Commits this node holds that the peer (as last known) lacks.
        var pendingOut: UInt64
        /// Commits the peer holds (as last known) that this node lacks.
        var pendingIn: UInt64
        /// How long the peer has been behind this node (0 when it holds everything; nil if it never caught up).
        var lagMs: Int64?
        var lastError: String?
    }

    var name: String
    var role: String
    /// The wards a ward node works for (its certificate's).
    var wards: [String]
    var nodeId: String
    var versionVector: [String: UInt64]
    var rows: [String: Int]
    var openConflicts: Int
    var peers: [Peer]
    /// Origins whose commits this node holds back: one broke a declared rule (never a value here).
    var quarantined: [QuarantinedOrigin]

    struct QuarantinedOrigin: Codable, Sendable {
        var nodeId: String
        var name: String?
        /// The first refused commit.
        var commit: UInt64
        var table: String?
        var rule: String
        var sinceMsAgo: Int64
    }
}

extension NodeRuntime {
    /// The node's current status, read from its replica and peer table.
    func statusReport(_ configuration: NodeConfiguration) throws -> NodeStatusReport {
        let vector = try replica.versionVector()
        let now = Int64(SystemWallClock().now())
        let peers = try self.peers.peers().map { peer in
            var pendingOut: UInt64 = 0, pendingIn: UInt64 = 0
            // Saturating: a peer's vector is whatever it claimed.
            for (origin, seq) in vector.entries where seq > peer.peerVector[origin] { pendingOut = pendingOut.saturatingAdding(seq - peer.peerVector[origin]) }
            for (origin, seq) in peer.peerVector.entries where seq > vector[origin] { pendingIn = pendingIn.saturatingAdding(seq - vector[origin]) }
            return NodeStatusReport.Peer(name: peer.name, nodeId: peer.nodeId, role: peer.role, address: peer.address, connected: peer.connected,
                                         lastContactMsAgo: now - peer.lastContact, pendingOut: pendingOut, pendingIn: pendingIn,
                                         lagMs: pendingOut == 0 ? 0 : peer.caughtUpAt.map { now - $0 }, lastError: peer.lastError)
        }
        let names = Dictionary(peers.map { ($0.nodeId, $0.name) }, uniquingKeysWith: { first, _ in first })
        let quarantined = try replica.quarantines().map { quarantine in
            NodeStatusReport.QuarantinedOrigin(nodeId: quarantine.origin.description, name: names[quarantine.origin.description], commit: quarantine.seq,
                                               table: quarantine.table, rule: quarantine.rule, sinceMsAgo: now - Int64(clamping: quarantine.seenAt))
        }
        // The role is the certificate's (what this node may write), whatever node.json says.
        return NodeStatusReport(name: configuration.name, role: replica.role.description, wards: replica.identity.wards.sorted(),
                                nodeId: configuration.nodeID,
                                versionVector: Dictionary(uniqueKeysWithValues: vector.sorted.map { ($0.origin.description, $0.seq) }),
                                rows: try replica.statistics().rows, openConflicts: try replica.openConflicts().count, peers: peers,
                                quarantined: quarantined)
    }
}
