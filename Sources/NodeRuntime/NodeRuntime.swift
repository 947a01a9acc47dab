import CRMDomain
import GRDB
import Logging
import NIOCore
import NIOPosix
import Replica
import Sodium
import SyncProtocol
import Synchronization

/// What a running node's services share: its replica, identity, admission rules and peer status.
package final class NodeRuntime: Sendable {
    package let replica: Replica
    /// The admission rules, with the node's identity: a renewed certificate replaces it while the node runs.
    private let currentAdmission: Mutex<PeerAdmission>
    package let peers: PeerStatusStore
    /// Credentials of the machines that call this node's API (PBX, HIS engine, SMS gateway).
    package let machines: MachineCredentialStore
    /// The follow-up and patient-relationship workflow on this node's replica.
    package let crm: CRM
    package let logger: Logger
    package let group: MultiThreadedEventLoopGroup = .singleton
    /// Central's answer to enrolment requests on its sync port; nil on other nodes.
    package let enrolment: EnrolmentDesk?
    /// What `/metrics` exports.
    package let metrics: NodeMetrics
    /// Sync sessions started with central since the node started (the renewer watches it).
    private let centralSessions = Mutex(0)

    package init(
        replica: Replica, identity: NodeIdentity, logger: Logger, passwordStrength: PasswordHasher.Strength = .interactive, enrolment: EnrolmentDesk? = nil,
        metrics: NodeMetrics = NodeMetrics(replicaPath: nil)
    ) throws {
        self.replica = replica
        self.metrics = metrics
        self.enrolment = enrolment
        self.crm = try CRM(replica: replica, passwordStrength: passwordStrength)
        self.logger = logger
        self.peers = PeerStatusStore(replica: replica)
        self.machines = MachineCredentialStore(replica: replica)
        let replicaForChecks = replica
        self.currentAdmission = Mutex(
            PeerAdmission(
                identity: identity, policies: replica.policies,
                isRevoked: { id in NodeRuntime.isRevoked(id, in: replicaForChecks) },
                now: { replicaForChecks.wallClock.now() }))
        try peers.prepare()
        try machines.prepare()
    }

    /// How many sync sessions with central have started since the node started.
    package var centralSessionsStarted: Int { centralSessions.withLock { $0 } }

    /// Whether the replica answers a query now (readiness).
    package func replicaAnswers() async -> Bool {
        (try? await replica.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM _sf_node") }) != nil
    }

    /// Who may connect, and who this node is in its handshakes.
    package var admission: PeerAdmission { currentAdmission.withLock { $0 } }

    /// The node's identity (its certificate as last renewed).
    package var identity: NodeIdentity { admission.identity }

    /// When the node's certificate expires, ms since 1970.
    package var certificateExpiresAt: UInt64 { identity.certificate.expiresAt }

    /// Takes a renewed certificate into use: the next handshakes present it. Commits keep being
    /// signed by the same key, which the certificate still names.
    package func adopt(_ identity: NodeIdentity) {
        currentAdmission.withLock { $0.identity = identity }
    }

    /// Whether the replicated revocation list names the node. Fails closed: a list that cannot be
    /// read counts as naming it.
    package static func isRevoked(_ id: NodeID, in replica: Replica) -> Bool {
        do {
            return try replica.reader.read { db in
                guard try db.tableExists("revokedNode") else { return false }
                return try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM revokedNode WHERE id = ?)", arguments: [id.description]) ?? true
            }
        } catch {
            return true
        }
    }

    /// Frames a connection and wraps it for async use. A connection a listener `accepted` is closed,
    /// not trapped on, if it is dropped before anybody runs it: when a listener shuts down while a
    /// connection is being accepted, NIO drops its `NIOAsyncChannel` unread (apple/swift-nio#2813), and
    /// one made with `wrappingChannelSynchronously:` then stops the process with "Deinited
    /// NIOAsyncWriter without calling finish()". NIO's only initializer that tears down on deinit is
    /// the deprecated one, hence the warning it costs.
    package static func wrap(_ channel: any Channel, accepted: Bool = false) -> EventLoopFuture<NIOAsyncChannel<ByteBuffer, ByteBuffer>> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
            try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameEncoder()))
            return accepted
                ? try acceptedAsyncChannel(channel)
                : try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel, configuration: frameBuffering)
        }
    }

    /// At most two frames wait while a session applies one (NIO's default is ten): a frame may
    /// be 16 MiB, and what a peer can make a node hold must stay bounded by design, not by trust.
    /// Sessions apply frames much faster than two frames' worth of network time, so two keep the
    /// link busy.
    static let frameBuffering = NIOAsyncChannel<ByteBuffer, ByteBuffer>.Configuration(
        backPressureStrategy: .init(lowWatermark: 1, highWatermark: 2))

    /// An accepted connection that closes itself if it is dropped unread (see ``wrap(_:accepted:)``).
    package static func acceptedAsyncChannel(_ channel: any Channel) throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(synchronouslyWrapping: channel, configuration: frameBuffering)
    }

    /// Runs the handshake and a session on one connection, keeping the peer's status current.
    /// - Parameter guardian: on a listener's connections, the handshake deadline and the one-live-session-per-node rule.
    package func run(
        _ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, as side: Handshake.Side, address: String,
        options: SyncOptions, guardian: ListenerGuard? = nil, progress: (@Sendable (SyncReport) -> Void)? = nil
    ) async throws -> SyncReport {
        try await connection.executeThenClose { inbound, outbound in
            let sender = ChannelFrameSender(outbound, channel: connection.channel)
            var receiver = ChannelFrameReceiver(inbound)
            let secure: SecureChannel<ChannelFrameReceiver>
            // A peer that does not finish the handshake in time is cut off (a slow-loris holds nothing).
            let channel = connection.channel
            let deadline = guardian.map { guardian in
                Task {
                    try await Task.sleep(for: guardian.limits.handshakeDeadline)
                    channel.close(promise: nil)
                }
            }
            // On central, a connection may instead carry a new node's enrolment request: one answer, then closed.
            if side == .server, let enrolment, let first = try await receiver.next() {
                if EnrolmentDesk.handles(first) {
                    let answer = await enrolment.answer(first, from: address, now: replica.wallClock.now())
                    deadline?.cancel()
                    try await sender.send(answer)
                    return SyncReport(peer: "enrolment")
                }
                receiver.putBack(first)
            }
            do {
                secure = try await Handshake.perform(as: side, admission: admission, sender: sender, receiver: &receiver)
                deadline?.cancel()
            } catch let error as SyncError {
                deadline?.cancel()
                logger.warning("sync handshake refused", metadata: ["sync.peer.address": "\(address)", "sync.error": "\(error)"])
                NodeCounters.handshakeRefused(error.code)
                // The peer we dial keeps its row with why it refused us now (revoked, expired, a
                // wipe order): a live session's own refusal can be lost to a reset connection.
                if side == .client { peers.recordRefusal(address: address, error: error.description) }
                throw error
            }
            let peer = secure.peer
            let claim = guardian.map { $0.claimSession(of: peer.nodeID, close: { channel.close(promise: nil) }) }
            defer { if let guardian, let claim { guardian.endSession(of: peer.nodeID, token: claim) } }
            logger.info("sync session started", metadata: ["sync.peer": "\(peer.name)", "sync.peer.role": "\(peer.role)"])
            NodeCounters.sessionStarted(peer: peer.name, role: peer.role.description)
            if peer.role == .central { centralSessions.withLock { $0 += 1 } }
            let lastReport = Mutex(SyncReport(peer: peer.name))
            peers.record(
                name: peer.name, nodeID: peer.nodeID, role: peer.role.description, address: address, connected: true, vector: nil,
                certificateExpiresAt: peer.expiresAt)
            let session = SyncSession(replica: replica, channel: secure, options: options, logger: logger) { [peers] report in
                peers.record(name: peer.name, nodeID: peer.nodeID, address: address, connected: true, vector: report.peerVector)
                lastReport.withLock { last in
                    NodeCounters.transferred(peer: peer.name, from: last, to: report)
                    last = report
                }
                progress?(report)
            }
            let replica = self.replica
            do {
                let report = try await session.run(
                    receiving: secure,
                    stillAdmitted: {
                        !NodeRuntime.isRevoked(peer.nodeID, in: replica) && replica.wallClock.now() < peer.expiresAt
                    })
                peers.record(name: peer.name, nodeID: peer.nodeID, address: address, connected: false, vector: report.peerVector)
                lastReport.withLock { NodeCounters.transferred(peer: peer.name, from: $0, to: report) }
                logger.info("sync session ended", metadata: ["sync.peer": "\(peer.name)", "sync.rows.sent": "\(report.rowsSent)", "sync.rows.received": "\(report.rowsReceived)"])
                return report
            } catch {
                let reason = (error as? SyncError)?.description ?? "connection lost"
                peers.record(name: peer.name, nodeID: peer.nodeID, address: address, connected: false, vector: nil, error: reason)
                NodeCounters.sessionFailed(peer: peer.name)
                logger.warning("sync session ended with an error", metadata: ["sync.peer": "\(peer.name)", "sync.error": "\(reason)"])
                throw error
            }
        }
    }

    /// Connects to a peer.
    package func connect(to endpoint: Endpoint) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(5))
            .connect(host: endpoint.host, port: endpoint.port) { channel in NodeRuntime.wrap(channel) }
    }
}
