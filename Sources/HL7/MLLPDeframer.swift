/// The Minimal Lower Layer Protocol's framing: each message is `0x0B <message> 0x1C 0x0D`.
///
/// Fed the bytes of a connection as they come, it yields whole messages. Bytes between frames are
/// skipped; a start byte inside a frame means the sender gave up on the previous one (it is
/// dropped); a frame larger than the limit is an error, after which the connection must close.
public struct MLLPDeframer: Sendable {
    public static let startBlock: UInt8 = 0x0B
    public static let endBlock: UInt8 = 0x1C
    public static let carriageReturn: UInt8 = 0x0D

    /// What went wrong with the stream.
    public enum Failure: Error, Sendable, Equatable {
        /// A frame grew past ``maximumFrameBytes``; its first bytes are kept to acknowledge it.
        case frameTooLarge(head: [UInt8])
    }

    /// The largest message accepted, in bytes.
    public let maximumFrameBytes: Int
    private var buffer: [UInt8] = []
    private var inFrame = false
    /// Where to resume looking for the end block.
    private var scanned = 0
    /// Frames dropped because a new one started inside them.
    public private(set) var abandonedFrames = 0
    /// Bytes skipped outside any frame.
    public private(set) var skippedBytes = 0

    public init(maximumFrameBytes: Int) {
        self.maximumFrameBytes = maximumFrameBytes
    }

    /// Whether a frame has started and not ended (the connection closing now truncates it).
    public var isInsideFrame: Bool { inFrame }

    /// Adds bytes read from the connection.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// The next whole message, without its framing; nil until one is complete. Linear in the
    /// bytes it scans: a run of start bytes moves the frame's start, never the buffer.
    /// - Throws: ``Failure/frameTooLarge(head:)``.
    public mutating func next() throws(Failure) -> [UInt8]? {
        if !inFrame {
            guard let start = buffer.firstIndex(of: Self.startBlock) else {
                skippedBytes += buffer.count
                buffer.removeAll(keepingCapacity: true)
                return nil
            }
            skippedBytes += start
            buffer.removeSubrange(0...start)
            inFrame = true
            scanned = 0
        }
        var frameStart = 0
        var index = scanned
        while index < buffer.count {
            let byte = buffer[index]
            if byte == Self.startBlock {
                // The sender restarted: what came before was never finished.
                abandonedFrames += 1
                frameStart = index + 1
            } else if byte == Self.endBlock {
                guard index + 1 < buffer.count else { break }
                if buffer[index + 1] == Self.carriageReturn {
                    let message = Array(buffer[frameStart..<index])
                    buffer.removeSubrange(0...(index + 1))
                    inFrame = false
                    scanned = 0
                    return message
                }
            }
            index += 1
        }
        if frameStart > 0 { buffer.removeSubrange(0..<frameStart) }
        scanned = index - frameStart
        if buffer.count > maximumFrameBytes + 2 {
            let head = Array(buffer.prefix(4_096))
            buffer.removeAll()
            inFrame = false
            throw .frameTooLarge(head: head)
        }
        return nil
    }

    /// `message` framed for the wire.
    public static func frame(_ message: [UInt8]) -> [UInt8] {
        [startBlock] + message + [endBlock, carriageReturn]
    }
}
