import NIOCore

/// Splits the byte stream into frames.
///
/// ```
/// +--------------------+--------------------------------+
/// | length: UInt32, BE | payload: `length` bytes         |
/// +--------------------+--------------------------------+
/// ```
/// The length is untrusted: a frame longer than `maximumLength` ends the
/// connection with ``SyncError/Code/frameTooLarge`` before anything is buffered for it.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    /// The largest payload accepted.
    public let maximumLength: Int

    /// Creates a decoder.
    public init(maximumLength: Int = SyncLimits.maximumFrameBytes) {
        self.maximumLength = maximumLength
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard length <= maximumLength else {
            throw SyncError(.frameTooLarge, "a frame of \(length) bytes exceeds the limit of \(maximumLength)")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
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
}
