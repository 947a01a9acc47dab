import NIOCore

/// Splits the byte stream into frames.
///
/// ```
/// +--------------------+--------------------------------+
/// | length: UInt32, BE | payload: `length` bytes         |
/// +--------------------+--------------------------------+
/// ```
/// The length is untrusted: a frame longer than the limit ends the connection with
/// ``SyncError/Code/frameTooLarge`` before anything is buffered for it. The first
/// `handshakeFrames` frames (hello, auth and stream header, before the peer has proved anything)
/// are held to the much smaller `handshakeLength`.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    /// The largest payload accepted once the handshake frames have passed.
    public let maximumLength: Int
    /// The largest payload of a handshake frame.
    public let handshakeLength: Int
    /// How many frames the handshake takes from this side's point of view.
    public let handshakeFrames: Int
    private var framesSeen = 0

    /// Creates a decoder.
    public init(
        maximumLength: Int = SyncLimits.maximumFrameBytes, handshakeLength: Int = SyncLimits.maximumHandshakeFrameBytes,
        handshakeFrames: Int = 3
    ) {
        self.maximumLength = maximumLength
        self.handshakeLength = handshakeLength
        self.handshakeFrames = handshakeFrames
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try nextFrame(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    /// The next whole frame's payload from `buffer`, or nil until more bytes arrive.
    /// - Throws: ``SyncError/Code/frameTooLarge`` as soon as a length over the limit is read.
    public mutating func nextFrame(_ buffer: inout ByteBuffer) throws(SyncError) -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        let limit = framesSeen < handshakeFrames ? handshakeLength : maximumLength
        guard length <= limit else {
            throw SyncError(.frameTooLarge, "a frame of \(length) bytes exceeds the limit of \(limit)")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        framesSeen += 1
        return buffer.readSlice(length: Int(length))
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// Prefixes each outgoing frame with its length (the layout ``FrameDecoder`` reads).
public struct FrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = ByteBuffer

    /// Creates an encoder.
    public init() {}

    public func encode(data: ByteBuffer, out: inout ByteBuffer) throws {
        out.writeInteger(UInt32(data.readableBytes))
        out.writeImmutableBuffer(data)
    }
}

/// Bounds of the sync protocol.
public enum SyncLimits {
    /// The largest frame on the wire.
    public static let maximumFrameBytes = 16 << 20
    /// The largest change batch after decompression.
    public static let maximumBatchBytes = 64 << 20
    /// The largest frame before the peer has authenticated (a hello holds a certificate of ~200 bytes).
    public static let maximumHandshakeFrameBytes = 4096
}
