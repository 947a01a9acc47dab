import Replica
import Sodium

/// The encrypted channel a handshake produces.
public struct SecureChannel<Receiver: FrameReceiving> {
    /// The authenticated peer.
    public let peer: NodeCertificate
    /// The protocol version both ends agreed on (the newest both speak).
    public let version: UInt16
    /// What both ends' policy sets declare alike (the whole set when they load the same).
    public let shared: SharedSchema
    let sender: EncryptedSender
    var receiver: EncryptedReceiver<Receiver>
}

/// Encrypts and sends session messages, one at a time, in order.
actor EncryptedSender {
    private let stream: SecretStreamSender
    private let frames: any FrameSending
    private var closed = false

    init(stream: SecretStreamSender, frames: any FrameSending) {
        self.stream = stream
        self.frames = frames
    }

    /// The write of the frame sealed last: each write waits for the one before it.
    private var lastWrite: Task<Void, any Error>?

    func send(_ message: SyncMessage) async throws {
        guard !closed else { throw SyncError(.connectionClosed, "the session already ended") }
        let final = message == .goodbye || { if case .refusal = message { return true } else { return false } }()
        if final { closed = true }
        // Frames are sealed in the order sends arrive (the stream's nonces count them) and must be
        // written in that order: a send that suspended in its write must not be overtaken by a
        // later one (acknowledgements, pages and heartbeats come from different tasks).
        let sealed = try stream.seal(message.encoded, final: final)
        let previous = lastWrite, frames = self.frames
        let write = Task {
            _ = try? await previous?.value
            try await frames.send(sealed)
        }
        lastWrite = write
        try await write.value
    }

    /// Closes the connection.
    func close() async {
        closed = true
        await frames.close()
    }
}

/// Receives and decrypts session messages.
struct EncryptedReceiver<Receiver: FrameReceiving> {
    let stream: SecretStreamReceiver
    var frames: Receiver

    /// The next message; nil when the connection closed.
    mutating func next() async throws -> SyncMessage? {
        guard let frame = try await frames.next() else { return nil }
        return try SyncMessage(decoding: try SyncError.checking { () throws(SodiumError) in try stream.open(frame) })
    }
}
