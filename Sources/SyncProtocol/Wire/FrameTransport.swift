import NIOCore

/// Sends whole frames. Sendable: the session's tasks share it.
public protocol FrameSending: Sendable {
    /// Sends one frame's payload.
    func send(_ frame: [UInt8]) async throws
    /// Closes the connection (both directions).
    func close() async
}

/// Receives whole frames; owned by one task.
public protocol FrameReceiving {
    /// The next frame's payload, or nil when the peer closed the connection.
    mutating func next() async throws -> [UInt8]?
}

/// Frames over a `NIOAsyncChannel` whose pipeline has ``FrameDecoder`` and ``FrameEncoder``.
public struct ChannelFrameSender: FrameSending {
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let channel: any Channel

    /// Wraps an outbound writer and the channel it writes to.
    public init(_ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, channel: any Channel) {
        self.outbound = outbound
        self.channel = channel
    }

    public func send(_ frame: [UInt8]) async throws {
        try await outbound.write(ByteBuffer(bytes: frame))
    }

    public func close() async {
        try? await channel.close()
    }
}

/// The receiving side of ``ChannelFrameSender``.
public struct ChannelFrameReceiver: FrameReceiving {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    var unread: [UInt8]?

    /// Wraps an inbound stream.
    public init(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>) {
        self.iterator = inbound.makeAsyncIterator()
    }

    /// Puts a frame back: the next `next()` returns it (a listener looks at a connection's first
    /// frame to tell an enrolment request from a hello).
    public mutating func putBack(_ frame: [UInt8]) {
        unread = frame
    }

    public mutating func next() async throws -> [UInt8]? {
        if let frame = unread {
            unread = nil
            return frame
        }
        guard var buffer = try await iterator.next() else { return nil }
        return buffer.readBytes(length: buffer.readableBytes)
    }
}

/// An in-process pair of frame pipes, for tests and tools: what one end sends the other receives.
public enum MemoryFrameTransport {
    /// A connected pair of endpoints.
    public static func pair() -> (a: MemoryFrameEndpoint, b: MemoryFrameEndpoint) {
        let (aToB, intoB) = AsyncStream<[UInt8]>.makeStream()
        let (bToA, intoA) = AsyncStream<[UInt8]>.makeStream()
        return (
            MemoryFrameEndpoint(sender: MemoryFrameSender(continuation: intoB, incoming: intoA), incoming: bToA),
            MemoryFrameEndpoint(sender: MemoryFrameSender(continuation: intoA, incoming: intoB), incoming: aToB)
        )
    }
}

/// One end of ``MemoryFrameTransport``.
public struct MemoryFrameEndpoint: Sendable {
    /// Sends to the other end.
    public let sender: MemoryFrameSender
    let incoming: AsyncStream<[UInt8]>

    /// Receives from the other end (make one per endpoint).
    public var receiver: MemoryFrameReceiver { MemoryFrameReceiver(iterator: incoming.makeAsyncIterator()) }
}

/// One end's sending side of ``MemoryFrameTransport``; `tap` sees every frame (to tamper in tests).
public struct MemoryFrameSender: FrameSending {
    let continuation: AsyncStream<[UInt8]>.Continuation
    /// This end's incoming pipe: closing a connection ends both directions, as closing a socket does.
    let incoming: AsyncStream<[UInt8]>.Continuation

    public func send(_ frame: [UInt8]) async throws {
        continuation.yield(frame)
    }

    /// Closes the connection: the other end's `next()` returns nil, and so does this end's.
    public func close() async {
        continuation.finish()
        incoming.finish()
    }
}

/// One end's receiving side of ``MemoryFrameTransport``.
public struct MemoryFrameReceiver: FrameReceiving {
    var iterator: AsyncStream<[UInt8]>.AsyncIterator

    public mutating func next() async throws -> [UInt8]? {
        await iterator.next()
    }
}
