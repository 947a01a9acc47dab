import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SyncProtocol

/// The sync listener: accepts peers and runs a live session with each, within the caps of its
/// ``ListenerGuard`` (connections per address and in all, a handshake deadline, one live session per node).
package struct SyncListener: Service {
    package let runtime: NodeRuntime
    package let endpoint: Endpoint
    /// Called with the bound address once listening (the port may have been 0).
    package let onListening: @Sendable (String) -> Void
    package let guardian: ListenerGuard

    package init(runtime: NodeRuntime, endpoint: Endpoint, limits: ListenerLimits = ListenerLimits(), onListening: @escaping @Sendable (String) -> Void) {
        self.runtime = runtime
        self.endpoint = endpoint
        self.onListening = onListening
        self.guardian = ListenerGuard(limits: limits)
    }

    package func run() async throws {
        let server = try await ServerBootstrap(group: runtime.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: endpoint.host, port: endpoint.port) { channel in NodeRuntime.wrap(channel, accepted: true) }
        onListening(server.channel.localAddress.map { "\($0.ipAddress ?? endpoint.host):\($0.port ?? endpoint.port)" } ?? endpoint.description)
        try await runUntilShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        let remote = connection.channel.remoteAddress
                        let host = remote?.ipAddress ?? "unknown"
                        let address = "\(host):\(remote?.port ?? 0)"
                        guard guardian.admit(host: host) else {
                            runtime.logger.warning("sync connection refused: too many open", metadata: ["sync.peer.address": "\(host)"])
                            try? await connection.channel.close()
                            continue
                        }
                        group.addTask {
                            defer { guardian.release(host: host) }
                            _ = try? await runtime.run(connection, as: .server, address: address, options: SyncOptions(mode: .live), guardian: guardian)
                        }
                    }
                }
            }
        }
    }
}

/// Keeps a live session with one configured peer, reconnecting with back-off and jitter.
/// Central's order to wipe (this node was revoked) ends it and goes to `onWipeOrder`.
package struct PeerConnector: Service {
    package let runtime: NodeRuntime
    package let endpoint: Endpoint
    package var onWipeOrder: @Sendable (SyncError) async -> Void = { _ in }

    package func run() async throws {
        try await runUntilShutdown {
            var delay = 0.25
            // The link's state as last logged: its loss and its return are logged once each, at
            // warning and info (a ward cut off from central is what its IT staff look for first).
            var linkUp: Bool?
            while !Task.isCancelled {
                do {
                    let connection = try await runtime.connect(to: endpoint)
                    delay = 0.25
                    if linkUp == false { runtime.logger.info("sync link restored", metadata: ["sync.peer.address": "\(endpoint)"]) }
                    linkUp = true
                    _ = try await runtime.run(connection, as: .client, address: endpoint.description, options: SyncOptions(mode: .live))
                } catch is CancellationError {
                    return
                } catch let error as SyncError where error.code == .wipeOrdered {
                    await onWipeOrder(error)
                    return
                } catch let error as SyncError {
                    // The session or handshake ended with a reason (logged by `run`); the link itself may be up.
                    runtime.logger.debug("sync session with peer ended", metadata: ["sync.peer.address": "\(endpoint)", "sync.error": "\(error.code)"])
                } catch {
                    if linkUp != false {
                        runtime.logger.warning("sync link lost: peer unreachable, retrying", metadata: ["sync.peer.address": "\(endpoint)"])
                        NodeCounters.linkLost()
                    }
                    linkUp = false
                }
                let jittered = delay * Double.random(in: 0.5...1.5)
                delay = min(delay * 2, 4)
                try? await Task.sleep(for: .seconds(jittered))
            }
        }
    }

    package init(runtime: NodeRuntime, endpoint: Endpoint, onWipeOrder: @escaping @Sendable (SyncError) async -> Void = { _ in }) {
        self.runtime = runtime
        self.endpoint = endpoint
        self.onWipeOrder = onWipeOrder
    }
}

/// Runs `body` until the service group shuts down gracefully; the cancellation that ends it is not an error.
package func runUntilShutdown(_ body: @escaping @Sendable () async throws -> Void) async throws {
    do {
        try await cancelWhenGracefulShutdown(body)
    } catch is CancellationError {
        return
    }
}
