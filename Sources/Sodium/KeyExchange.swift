import CSodium

/// An ephemeral X25519 key pair for one connection (libsodium `crypto_kx`).
public final class KeyExchange {
    public let publicKey: [UInt8]
    private var secretKey: [UInt8]

    /// The two session keys of one side: `receive` decrypts what the peer sends, `transmit` encrypts what we send.
    public struct SessionKeys: Sendable {
        public var receive: [UInt8]
        public var transmit: [UInt8]
    }

    public init() {
        Sodium.ensureReady()
        var publicKey = [UInt8](repeating: 0, count: Int(crypto_kx_publickeybytes()))
        var secretKey = [UInt8](repeating: 0, count: Int(crypto_kx_secretkeybytes()))
        // crypto_kx_keypair always returns 0.
        _ = crypto_kx_keypair(&publicKey, &secretKey)
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    deinit {
        Sodium.wipe(&secretKey)
    }

    /// Session keys for the side that connected ("returns -1 if the server's public key is not acceptable").
    public func clientKeys(serverPublicKey: [UInt8]) throws(SodiumError) -> SessionKeys {
        try derive(peer: serverPublicKey) { rx, tx, peer in crypto_kx_client_session_keys(rx, tx, publicKey, secretKey, peer) }
    }

    /// Session keys for the side that accepted.
    public func serverKeys(clientPublicKey: [UInt8]) throws(SodiumError) -> SessionKeys {
        try derive(peer: clientPublicKey) { rx, tx, peer in crypto_kx_server_session_keys(rx, tx, publicKey, secretKey, peer) }
    }

    private func derive(peer: [UInt8], _ body: (UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt8>, [UInt8]) -> Int32) throws(SodiumError) -> SessionKeys {
        guard peer.count == Int(crypto_kx_publickeybytes()) else { throw SodiumError(.unacceptablePeerKey, "the peer's key-exchange key has the wrong length") }
        var receive = [UInt8](repeating: 0, count: Int(crypto_kx_sessionkeybytes()))
        var transmit = [UInt8](repeating: 0, count: Int(crypto_kx_sessionkeybytes()))
        let result = receive.withUnsafeMutableBufferPointer { rx in
            transmit.withUnsafeMutableBufferPointer { tx in body(rx.baseAddress!, tx.baseAddress!, peer) }
        }
        guard result == 0 else { throw SodiumError(.unacceptablePeerKey, "the peer's key-exchange key is not acceptable") }
        return SessionKeys(receive: receive, transmit: transmit)
    }
}
