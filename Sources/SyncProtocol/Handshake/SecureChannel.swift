import Sodium

/// The encrypted channel a handshake produces.
public struct SecureChannel<Receiver: FrameReceiving> {
    /// The authenticated peer.
    public let peer: NodeCertificate
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

    func send(_ message: SyncMessage) async throws {
        guard !closed else { throw SyncError(.connectionClosed, "the session already ended") }
        let final = message == .goodbye || { if case .refusal = message { return true } else { return false } }()
        if final { closed = true }
        try await frames.send(stream.seal(message.encoded, final: final))
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
