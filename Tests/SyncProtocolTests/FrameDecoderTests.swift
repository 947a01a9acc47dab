import NIOCore
import NIOEmbedded
import NIOTestUtils
import TestSupport
import Testing

@testable import SyncProtocol

@Suite("Framing")
struct FrameDecoderTests {
    func frame(_ payload: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(payload.count))
        buffer.writeBytes(payload)
        return buffer
    }

    @Test func decodesFramesHoweverTheBytesAreSplit() throws {
        let inputs = [[UInt8](), [1], [1, 2, 3], [UInt8](repeating: 7, count: 1000)]
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: inputs.map { (frame($0), [ByteBuffer(bytes: $0)]) },
            decoderFactory: { FrameDecoder(maximumLength: 4096, handshakeFrames: 0) })
    }

    @Test func handshakeFramesAreHeldToTheSmallLimitThenSessionFramesToTheLarge() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maximumLength: 1 << 20, handshakeLength: 4096, handshakeFrames: 3)))
        for _ in 0..<3 { try channel.writeInbound(frame([UInt8](repeating: 1, count: 4096))) }
        try channel.writeInbound(frame([UInt8](repeating: 1, count: 100_000)))
        var frames = 0
        while try channel.readInbound(as: ByteBuffer.self) != nil { frames += 1 }
        #expect(frames == 4)
        let fresh = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maximumLength: 1 << 20, handshakeLength: 4096, handshakeFrames: 3)))
        var header = ByteBuffer()
        header.writeInteger(UInt32(4097))
        #expect {
            try fresh.writeInbound(header)
        } throws: { error in
            (error as? SyncError)?.code == .frameTooLarge
        }
    }

    @Test(arguments: [4097, 1 << 20, Int(UInt32.max)])
    func rejectsAnOversizedLengthBeforeBuffering(length: Int) throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maximumLength: 4096, handshakeFrames: 0)))
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(truncatingIfNeeded: length))
        #expect {
            try channel.writeInbound(buffer)
        } throws: { error in
            (error as? SyncError)?.code == .frameTooLarge
        }
    }

    @Test func malformedSessionMessagesAreProtocolViolations() {
        // …including a version vector whose sequence number is beyond what a replica can store.
        let huge: [UInt8] = [1, 1, 7, 0, 0, 0, 0, 0, 0, 0] + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
        for bytes in [[UInt8](), [0], [9], [2, 0xFF], [3, 1, 5], [1, 200], huge] {
            #expect(throws: SyncError.self) { try SyncMessage(decoding: bytes) }
        }
    }

    @Test func compressionRefusesBombsAndGarbage() throws {
        let big = [UInt8](repeating: 0, count: 1 << 20)
        let compressed = try BatchCompression.compress(big)
        #expect(compressed.count < 10_000)
        #expect(throws: SyncError.self) { try BatchCompression.decompress(compressed, maxSize: 1000) }
        #expect(throws: SyncError.self) { try BatchCompression.decompress([1, 2, 3, 4, 5]) }
        #expect(try BatchCompression.decompress(compressed) == big)
    }
}
