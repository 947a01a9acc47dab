import CRMDomain
import HL7
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Who may connect to the MLLP listener and how much they may send.
package struct MLLPPolicy: Sendable {
    /// Peer addresses allowed to connect (the HIS interface engine); nil: any (loopback only).
    package var allowedHosts: Set<String>?
    /// The largest message, in bytes (a 2 MB message with attachments fits).
    package var maximumMessageBytes = 4 << 20
    /// A connection that sends nothing for this long is closed (engines reconnect).
    package var idleTimeout: TimeAmount = .minutes(30)
    package var limits = ListenerLimits(perAddress: 8, total: 32)

    package init(allowedHosts: Set<String>?) {
        self.allowedHosts = allowedHosts
    }
}

/// The HIS's ADT feed: an MLLP listener (HL7 v2 over TCP, `0x0B … 0x1C 0x0D`). Each connection's
/// messages are applied in order, each acknowledged after its commit; messages that arrive
/// together (an engine that does not wait for each ACK) share one commit.
/// Logs name the event, control id and outcome, never patient data.
package struct MLLPListener: Service {
    package let runtime: NodeRuntime
    package let endpoint: Endpoint
    package let policy: MLLPPolicy
    package let onListening: @Sendable (String) -> Void
    private let guardian: ListenerGuard
    /// The most messages applied in one commit.
    static let groupLimit = 64

    /// - Throws: ``NodeSetupError`` when a non-loopback address has no allowed hosts: anyone on
    ///   the network could otherwise admit patients.
    package init(runtime: NodeRuntime, endpoint: Endpoint, policy: MLLPPolicy, onListening: @escaping @Sendable (String) -> Void) throws {
        if !endpoint.isLoopback, policy.allowedHosts?.isEmpty ?? true {
            throw NodeSetupError("the MLLP listener on \(endpoint) needs --mllp-allow with the HIS interface engine's address (anyone could send admissions)")
        }
        self.runtime = runtime
        self.endpoint = endpoint
        self.policy = policy
        self.onListening = onListening
        self.guardian = ListenerGuard(limits: policy.limits)
    }

    package func run() async throws {
        let idle = policy.idleTimeout
        let server = try await ServerBootstrap(group: runtime.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: endpoint.host, port: endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([IdleStateHandler(readTimeout: idle), CloseWhenIdle()])
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        onListening(server.channel.localAddress.map { "\($0.ipAddress ?? endpoint.host):\($0.port ?? endpoint.port)" } ?? endpoint.description)
        try await runUntilShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        let host = connection.channel.remoteAddress?.ipAddress ?? "unknown"
                        if let allowed = policy.allowedHosts, !allowed.contains(host) {
                            NodeCounters.mllpConnectionRefused("not-allowed")
                            runtime.logger.warning("MLLP connection refused: address not allowed (--mllp-allow)", metadata: ["mllp.peer.address": "\(host)"])
                            try? await connection.channel.close()
                            continue
                        }
                        guard guardian.admit(host: host) else {
                            NodeCounters.mllpConnectionRefused("too-many")
                            runtime.logger.warning("MLLP connection refused: too many open", metadata: ["mllp.peer.address": "\(host)"])
                            try? await connection.channel.close()
                            continue
                        }
                        group.addTask {
                            defer { guardian.release(host: host) }
                            await serve(connection, host: host)
                        }
                    }
                }
            }
        }
    }

    /// Reads frames, applies each, writes its ACK; ends when the peer closes, idles or oversends.
    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, host: String) async {
        let logger = runtime.logger
        let his = runtime.crm.his
        var deframer = MLLPDeframer(maximumFrameBytes: policy.maximumMessageBytes)
        do {
            try await connection.executeThenClose { inbound, outbound in
                for try await chunk in inbound {
                    deframer.append(chunk.readableBytesView)
                    // Every whole message this read completed; an engine that does not wait for
                    // each ACK gets them applied in one commit (at most `groupLimit` at a time).
                    var frames: [[UInt8]] = []
                    var oversized: [UInt8]?
                    while oversized == nil {
                        do {
                            guard let next = try deframer.next() else { break }
                            frames.append(next)
                        } catch MLLPDeframer.Failure.frameTooLarge(let head) {
                            oversized = head
                        }
                    }
                    for group in stride(from: 0, to: frames.count, by: Self.groupLimit).map({ frames[$0..<min($0 + Self.groupLimit, frames.count)] }) {
                        let receipts = await his.receive(Array(group))
                        var replies: [UInt8] = []
                        for receipt in receipts {
                            Self.log(receipt, host: host, logger: logger)
                            replies += MLLPDeframer.frame(receipt.ack)
                        }
                        try await outbound.write(ByteBuffer(bytes: replies))
                    }
                    if let head = oversized {
                        logger.warning("MLLP message refused: larger than \(policy.maximumMessageBytes) bytes; closing the connection", metadata: ["mllp.peer.address": "\(host)"])
                        let error = HL7Error(.applicationError, "the message is larger than \(policy.maximumMessageBytes) bytes")
                        try await outbound.write(ByteBuffer(bytes: MLLPDeframer.frame(his.rejection(of: head, error))))
                        return
                    }
                }
            }
        } catch {
            logger.debug("MLLP connection ended", metadata: ["mllp.peer.address": "\(host)", "error": "\(type(of: error))"])
        }
        if deframer.isInsideFrame {
            logger.warning("MLLP connection closed in the middle of a message: it was not applied", metadata: ["mllp.peer.address": "\(host)"])
        }
        if deframer.abandonedFrames > 0 {
            logger.warning("MLLP sender restarted messages before ending them: \(deframer.abandonedFrames) dropped", metadata: ["mllp.peer.address": "\(host)"])
        }
    }

    /// One line per message: event, control id, outcome and error code; never patient data.
    private static func log(_ receipt: HISReceipt, host: String, logger: Logger) {
        var metadata: Logger.Metadata = [
            "mllp.peer.address": "\(host)", "hl7.event": "\(receipt.trigger ?? "-")", "hl7.control": "\(receipt.controlID ?? "-")",
            "hl7.ack": "\(receipt.acknowledgement.code.rawValue)",
        ]
        if let error = receipt.acknowledgement.error {
            metadata["hl7.error"] = "\(error.code.rawValue)"
            if let location = error.location { metadata["hl7.location"] = "\(location)" }
        }
        if receipt.duplicate { metadata["hl7.duplicate"] = "true" }
        if receipt.queued { metadata["hl7.queued"] = "true" }
        NodeCounters.hl7Message(receipt.acknowledgement.code.rawValue)
        switch receipt.acknowledgement.code {
        case .accept: logger.info("HL7 message applied", metadata: metadata)
        case .error: logger.warning("HL7 message not applied (AE)", metadata: metadata)
        case .reject: logger.warning("HL7 message rejected (AR)", metadata: metadata)
        }
    }
}

/// Closes a connection its ``IdleStateHandler`` found idle.
private final class CloseWhenIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
