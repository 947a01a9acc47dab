import ArgumentParser
import Foundation
import GRDB
import Replica
import SyncProtocol

/// `suifang status`: version vector, peers, last contact, pending changes each way, lag.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the node's replica and its peers.")

    @OptionGroup var node: NodeOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let (_, configuration, runtime) = try node.open(logger: quietLogger)
        let vector = try runtime.replica.versionVector()
        let statistics = try runtime.replica.statistics()
        let now = Int64(SystemWallClock().now())
        let peers = try runtime.peers.peers().map { peer -> [String: Any] in
            var pendingOut: UInt64 = 0, pendingIn: UInt64 = 0
            for (origin, seq) in vector.entries where seq > peer.peerVector[origin] { pendingOut += seq - peer.peerVector[origin] }
            for (origin, seq) in peer.peerVector.entries where seq > vector[origin] { pendingIn += seq - vector[origin] }
            var entry: [String: Any] = ["name": peer.name, "nodeId": peer.nodeId, "address": peer.address, "connected": peer.connected,
                                        "lastContactMsAgo": now - peer.lastContact, "pendingOut": pendingOut, "pendingIn": pendingIn]
            if let error = peer.lastError { entry["lastError"] = error }
            return entry
        }
        let conflicts = try runtime.replica.openConflicts().count
        if output.json {
            printJSON(["name": configuration.name, "role": configuration.role, "nodeId": configuration.nodeID,
                       "versionVector": Dictionary(uniqueKeysWithValues: vector.sorted.map { ($0.origin.description, $0.seq) }),
                       "rows": statistics.rows, "openConflicts": conflicts, "peers": peers])
            return
        }
        print("\(configuration.role) '\(configuration.name)' (\(configuration.nodeID))")
        print("version vector: \(vector)")
        print("rows: " + statistics.rows.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + "; open conflicts: \(conflicts)")
        if peers.isEmpty { print("peers: none contacted yet") }
        for peer in peers {
            let ago = Double(peer["lastContactMsAgo"] as! Int64) / 1000
            print("peer \(peer["name"]!) at \(peer["address"]!): \((peer["connected"] as! Bool) ? "connected" : "disconnected"), "
                + "last contact \(String(format: "%.1f", ago)) s ago, pending out \(peer["pendingOut"]!), in \(peer["pendingIn"]!)"
                + ((peer["lastError"] as? String).map { ", last error: \($0)" } ?? ""))
        }
    }
}

/// `suifang revoke NODE` (central): every peer refuses the node from then on.
struct Revoke: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Revoke a node (central); the revocation replicates.")

    @OptionGroup var node: NodeOptions
    @Argument(help: "The node's id (16 hex digits) or its name as a peer of this node.")
    var target: String
    @OptionGroup var output: OutputOptions

    func run() throws {
        let (_, configuration, runtime) = try node.open(logger: quietLogger)
        guard configuration.role == "central" else { throw ValidationError("only central revokes nodes") }
        let peers = try runtime.peers.peers()
        let match = peers.first { $0.name == target || $0.nodeId == target }
        guard let id = NodeID(hex: match?.nodeId ?? target) else {
            throw ValidationError("'\(target)' is neither a node id nor the name of a known peer")
        }
        try runtime.replica.write { tx in
            try tx.insert(into: "revokedNode", values: ["name": match?.name, "revokedAt": ISO8601DateFormatter().string(from: Date()),
                                                        "revokedBy": configuration.name], id: id.description)
        }
        if output.json {
            printJSON(["revoked": id.description])
        } else {
            print("revoked node \(id)\(match.map { " ('\($0.name)')" } ?? ""); every peer refuses it once the revocation reaches it")
        }
    }
}
