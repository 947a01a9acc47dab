import CSodium

/// The sending half of a libsodium secretstream (XChaCha20-Poly1305): each message is
/// encrypted and authenticated, and the stream's internal counter makes any
/// reordering, replay, truncation or tampering fail on the receiving side.
public final class SecretStreamSender {
    private let state: UnsafeMutablePointer<crypto_secretstream_xchacha20poly1305_state>
    /// The 24-byte header the receiver needs to start pulling.
    public let header: [UInt8]

    /// Bytes of overhead per message.
    public static let overhead = Int(crypto_secretstream_xchacha20poly1305_abytes())

    public init(key: [UInt8]) throws(SodiumError) {
        Sodium.ensureReady()
        guard key.count == Int(crypto_secretstream_xchacha20poly1305_keybytes()) else {
            throw SodiumError(.badKey, "a secretstream key is \(crypto_secretstream_xchacha20poly1305_keybytes()) bytes")
        }
        state = .allocate(capacity: 1)
        var header = [UInt8](repeating: 0, count: Int(crypto_secretstream_xchacha20poly1305_headerbytes()))
        // crypto_secretstream_xchacha20poly1305_init_push always returns 0.
        _ = crypto_secretstream_xchacha20poly1305_init_push(state, &header, key)
        self.header = header
    }

    deinit {
        sodium_memzero(state, MemoryLayout<crypto_secretstream_xchacha20poly1305_state>.size)
        state.deallocate()
    }

    /// Encrypts one message; `final` marks the end of the stream.
    public func seal(_ message: [UInt8], final: Bool = false) -> [UInt8] {
        var cipher = [UInt8](repeating: 0, count: message.count + Self.overhead)
        let tag = final ? UInt8(crypto_secretstream_xchacha20poly1305_tag_final()) : UInt8(crypto_secretstream_xchacha20poly1305_tag_message())
        // "returns 0 on success"; it only fails for a message over the (2^64-byte) size limit.
        let result = crypto_secretstream_xchacha20poly1305_push(state, &cipher, nil, message, UInt64(message.count), nil, 0, tag)
        precondition(result == 0, "secretstream push failed")
        return cipher
    }
}

/// The receiving half of a secretstream.
public final class SecretStreamReceiver {
    private let state: UnsafeMutablePointer<crypto_secretstream_xchacha20poly1305_state>
    /// Whether the sender closed the stream with a final message.
    public private(set) var finished = false

    public init(key: [UInt8], header: [UInt8]) throws(SodiumError) {
        Sodium.ensureReady()
        guard key.count == Int(crypto_secretstream_xchacha20poly1305_keybytes()),
            header.count == Int(crypto_secretstream_xchacha20poly1305_headerbytes())
        else {
            throw SodiumError(.tampered, "the encrypted stream's header has the wrong length")
        }
        state = .allocate(capacity: 1)
        // "returns 0 on success, or -1 if the header is invalid".
        guard crypto_secretstream_xchacha20poly1305_init_pull(state, header, key) == 0 else {
            state.deallocate()
            throw SodiumError(.tampered, "the encrypted stream's header is invalid")
        }
    }

    deinit {
        sodium_memzero(state, MemoryLayout<crypto_secretstream_xchacha20poly1305_state>.size)
        state.deallocate()
    }

    /// Decrypts the next message. Throws for anything tampered, replayed, reordered,
    /// or arriving after the final message.
    public func open(_ cipher: [UInt8]) throws(SodiumError) -> [UInt8] {
        guard !finished else { throw SodiumError(.tampered, "a frame arrived after the end of the stream") }
        guard cipher.count >= SecretStreamSender.overhead else { throw SodiumError(.tampered, "an encrypted frame is too short") }
        var message = [UInt8](repeating: 0, count: cipher.count - SecretStreamSender.overhead)
        var tag: UInt8 = 0
        // "returns 0 on success, -1 if the ciphertext appears to be invalid".
        let result = crypto_secretstream_xchacha20poly1305_pull(state, &message, nil, &tag, cipher, UInt64(cipher.count), nil, 0)
        guard result == 0 else {
            throw SodiumError(.tampered, "an encrypted frame failed authentication (tampered, replayed or out of order)")
        }
        if tag == UInt8(crypto_secretstream_xchacha20poly1305_tag_final()) { finished = true }
        return message
    }
}
