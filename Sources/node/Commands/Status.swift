import ArgumentParser
import Benchmarks
import CRMDomain
import Foundation
import GRDB
import NodeHTTP
import NodeRuntime
import Replica
import SyncProtocol
import Testnets

/// `suifang status`: version vector, peers, last contact, pending changes each way, lag.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the node's replica and its peers.")

    @OptionGroup var node: NodeOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let (directory, configuration, runtime) = try node.open(logger: quietLogger)
        let report = try runtime.statusReport(configuration)
        if output.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print("\(report.role) '\(report.name)' (\(report.nodeId))" + (report.wards.isEmpty ? "" : " for wards " + report.wards.joined(separator: ", ")))
        let https = directory.httpCertificateExpiry().map { Int64($0.timeIntervalSince1970 * 1000) }
        print("certificate expires \(Self.expiry(report.certificateExpiresAt))" + (https.map { "; HTTPS certificate expires \(Self.expiry($0))" } ?? ""))
        print("version vector: {" + report.versionVector.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ", ") + "}")
        print("rows: " + report.rows.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + "; open conflicts: \(report.openConflicts)")
        if report.peers.isEmpty { print("peers: none contacted yet") }
        for peer in report.peers {
            print(
                "peer \(peer.name) at \(peer.address): \(peer.connected ? "connected" : "disconnected"), "
                    + "last contact \(String(format: "%.1f", Double(peer.lastContactMsAgo) / 1000)) s ago, pending out \(peer.pendingOut), in \(peer.pendingIn), "
                    + "lag \(peer.lagMs.map { String(format: "%.1f s", Double($0) / 1000) } ?? "never caught up")"
                    + (peer.certificateExpiresAt.map { ", certificate expires \(Self.expiry($0))" } ?? "")
                    + (peer.lastError.map { ", last error: \($0)" } ?? ""))
        }
        for held in report.quarantined {
            print("quarantined node \(held.name ?? held.nodeId) since commit \(held.commit): \(held.rule); its later commits are held")
        }
    }

    /// A date and how far it is: "2027-08-03 (in 243 days)", "… (EXPIRED 3 days ago: enrol again)".
    static func expiry(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        let days = Int((date.timeIntervalSinceNow / 86_400).rounded(.down))
        return formatter.string(from: date) + (days < 0 ? " (EXPIRED \(-days) days ago: enrol again)" : " (in \(days) days)")
    }
}

/// `suifang revoke NODE` (central): every peer refuses the node from then on.
struct Revoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Revoke a node (central); the revocation replicates.")

    @OptionGroup var node: NodeOptions
    @Argument(help: "The node's id (16 hex digits) or its name as a peer of this node.")
    var target: String
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let (_, configuration, runtime) = try node.open(logger: quietLogger)
        // The certificate's role, not node.json's: a ward whose file says "central" is still a ward.
        guard runtime.replica.role == .central else { throw CommandFailure("only central revokes nodes (this node's certificate says \(runtime.replica.role))") }
        let peers = try runtime.peers.peers()
        let match = peers.first { $0.name == target || $0.nodeId == target }
        guard let id = NodeID(hex: match?.nodeId ?? target) else {
            throw CommandFailure("'\(target)' is neither a node id nor the name of a known peer")
        }
        // The command line stands for the node's administrator: the audit trail says which node.
        try await runtime.crm.organisation.revokeNode(Caller(userId: "cli@" + configuration.name, role: .admin), id, name: match?.name)
        if output.json {
            printJSON(["revoked": id.description])
        } else {
            print("revoked node \(id)\(match.map { " ('\($0.name)')" } ?? ""); every peer refuses it once the revocation reaches it")
        }
    }
}
