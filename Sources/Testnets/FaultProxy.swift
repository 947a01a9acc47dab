import Foundation
import NIOCore
import NIOPosix
import NodeHTTP
import NodeRuntime
import Synchronization

/// A TCP proxy on loopback between two nodes, owned by the testnet runner, that injects faults:
/// a partition (drops every connection and refuses new ones), delay (per chunk, order kept),
/// and loss (a chunk is lost with the given probability, which — TCP being reliable — the
/// sync layer sees as a broken stream: the connection is reset).
package final class FaultProxy: Sendable {
    package struct Faults {
        var partitioned = false
        var delayMilliseconds = 0
        var lossPercent = 0.0
    }

    package let name: String
    package let target: Int
    private let faults = Mutex(Faults())
    private let connections = Mutex<[ObjectIdentifier: any Channel]>([:])
    private let serverChannel: Mutex<(any Channel)?> = Mutex(nil)
    /// Every byte forwarded either way, when `capturing` (tests look for data sent in clear).
    package let captured = Mutex<[UInt8]>([])
    private let capture = Atomic<Bool>(false)
    package var capturing: Bool {
        get { capture.load(ordering: .relaxed) }
        set { capture.store(newValue, ordering: .relaxed) }
    }
    /// Bytes forwarded towards the target and back.
    package let bytesForward = Atomic<Int>(0), bytesBack = Atomic<Int>(0)

    package init(name: String, targetPort: Int) {
        self.name = name
        self.target = targetPort
    }

    /// Starts listening on an ephemeral loopback port; returns it.
    package func start() async throws -> Int {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture { try NodeRuntime.acceptedAsyncChannel(channel) }
            }
        serverChannel.withLock { $0 = server.channel }
        Task {
            try? await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { await self.relay(connection) }
                    }
                }
            }
        }
        return server.channel.localAddress?.port ?? 0
    }

    package func update(_ change: (inout Faults) -> Void) {
        let partitioned = faults.withLock { state -> Bool in
            change(&state)
            return state.partitioned
        }
        if partitioned { dropAll() }
    }

    package func stop() {
        serverChannel.withLock { $0?.close(promise: nil) }
        dropAll()
    }

    private func dropAll() {
        for channel in connections.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }

    private func relay(_ inbound: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        guard !faults.withLock({ $0.partitioned }) else {
            try? await inbound.channel.close()
            return
        }
        guard
            let outbound = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(
                host: "127.0.0.1", port: target,
                channelInitializer: { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
                })
        else {
            try? await inbound.channel.close()
            return
        }
        track(inbound.channel); track(outbound.channel)
        defer { untrack(inbound.channel); untrack(outbound.channel) }
        try? await inbound.executeThenClose { fromClient, toClient in
            try await outbound.executeThenClose { fromServer, toServer in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await self.pump(fromClient, into: toServer, forward: true) }
                    group.addTask { try await self.pump(fromServer, into: toClient, forward: false) }
                    try await group.next()
                    group.cancelAll()
                }
            }
        }
    }

    private func pump(
        _ source: NIOAsyncChannelInboundStream<ByteBuffer>, into sink: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        forward: Bool
    ) async throws {
        for try await chunk in source {
            if capturing {
                let bytes = chunk.getBytes(at: chunk.readerIndex, length: chunk.readableBytes) ?? []
                captured.withLock { $0 += bytes }
            }
            if forward {
                bytesForward.add(chunk.readableBytes, ordering: .relaxed)
            } else {
                bytesBack.add(chunk.readableBytes, ordering: .relaxed)
            }
            let state = faults.withLock { $0 }
            if state.partitioned { return }
            if state.lossPercent > 0, Double.random(in: 0..<100) < state.lossPercent { return }
            if state.delayMilliseconds > 0 { try await Task.sleep(for: .milliseconds(state.delayMilliseconds)) }
            try await sink.write(chunk)
        }
    }

    private func track(_ channel: any Channel) {
        connections.withLock { $0[ObjectIdentifier(channel)] = channel }
    }

    private func untrack(_ channel: any Channel) {
        _ = connections.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }
}
