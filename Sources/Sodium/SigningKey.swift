import CSodium

/// An Ed25519 key pair; the secret half is wiped when the owner goes away.
public final class SigningKey: @unchecked Sendable {
    // Immutable after init; `deinit` is the only writer. Hence @unchecked Sendable is sound.
    /// The 32-byte public key.
    public let publicKey: [UInt8]
    private var secretKey: [UInt8]

    /// A fresh random key pair.
    public init() {
        Sodium.ensureReady()
        var publicKey = [UInt8](repeating: 0, count: Int(crypto_sign_publickeybytes()))
        var secretKey = [UInt8](repeating: 0, count: Int(crypto_sign_secretkeybytes()))
        // crypto_sign_keypair always returns 0.
        _ = crypto_sign_keypair(&publicKey, &secretKey)
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// Restores a key pair from its 64-byte secret key (libsodium's format: seed then public key).
    /// - Throws: ``KeyError`` for a wrong length or a key that is not Ed25519.
    public init(secretKey: [UInt8]) throws(KeyError) {
        Sodium.ensureReady()
        guard secretKey.count == Int(crypto_sign_secretkeybytes()) else {
            throw KeyError("a signing secret key is \(crypto_sign_secretkeybytes()) bytes")
        }
        var publicKey = [UInt8](repeating: 0, count: Int(crypto_sign_publickeybytes()))
        guard crypto_sign_ed25519_sk_to_pk(&publicKey, secretKey) == 0 else {
            throw KeyError("not an Ed25519 secret key")
        }
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    deinit {
        Sodium.wipe(&secretKey)
    }

    /// The secret key, for writing the node's key file (mode 0600).
    public var secretKeyBytes: [UInt8] { secretKey }

    /// A 64-byte detached signature of `message`.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: Int(crypto_sign_bytes()))
        // crypto_sign_detached always returns 0.
        _ = crypto_sign_detached(&signature, nil, message, UInt64(message.count), secretKey)
        return signature
    }

    /// Whether `signature` is `publicKey`'s signature of `message`.
    public static func verify(_ signature: [UInt8], of message: [UInt8], by publicKey: [UInt8]) -> Bool {
        Sodium.ensureReady()
        guard signature.count == Int(crypto_sign_bytes()), publicKey.count == Int(crypto_sign_publickeybytes()) else { return false }
        // "returns -1 if the signature fails verification, or 0 on success".
        return crypto_sign_verify_detached(signature, message, UInt64(message.count), publicKey) == 0
    }
}

/// A key that cannot be used (wrong length, not a key of its kind).
public struct KeyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong with the key (never the key itself).
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { "bad key: \(message)" }
}

extension SigningKey {
    /// The key pair derived from a 32-byte seed (`crypto_sign_seed_keypair`): the same seed always gives the same keys.
    /// - Throws: ``KeyError`` for a seed that is not 32 bytes.
    public convenience init(seed: [UInt8]) throws(KeyError) {
        Sodium.ensureReady()
        guard seed.count == Int(crypto_sign_seedbytes()) else {
            throw KeyError("a signing seed is \(crypto_sign_seedbytes()) bytes")
        }
        var publicKey = [UInt8](repeating: 0, count: Int(crypto_sign_publickeybytes()))
        var secretKey = [UInt8](repeating: 0, count: Int(crypto_sign_secretkeybytes()))
        // "crypto_sign_seed_keypair() … returns 0 on success" (it cannot fail with the right sizes).
        _ = crypto_sign_seed_keypair(&publicKey, &secretKey, seed)
        defer { Sodium.wipe(&secretKey) }
        try self.init(secretKey: secretKey)
    }
}
