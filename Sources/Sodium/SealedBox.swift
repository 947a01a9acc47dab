import CSodium

/// Small secrets sealed under a key: XChaCha20-Poly1305 (IETF) with a random nonce, stored as
/// nonce ‖ ciphertext ‖ tag. `context` is authenticated with the message, so a box sealed for one
/// purpose (a data key, a node key) does not open as another.
public enum SealedBox {
    /// Bytes a box adds to its message.
    public static let overhead = Int(crypto_aead_xchacha20poly1305_ietf_npubbytes() + crypto_aead_xchacha20poly1305_ietf_abytes())

    /// Seals `message` under a 32-byte `key`.
    public static func seal(_ message: [UInt8], key: [UInt8], context: String) throws(SodiumError) -> [UInt8] {
        Sodium.ensureReady()
        guard key.count == PageCipher.keyBytes else { throw SodiumError(.badKey, "a sealing key is \(PageCipher.keyBytes) bytes") }
        let nonce = Sodium.randomBytes(PageCipher.nonceBytes)
        var cipher = [UInt8](repeating: 0, count: message.count + PageCipher.tagBytes)
        let associated = Array(context.utf8)
        _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
            &cipher, nil, message, UInt64(message.count), associated, UInt64(associated.count), nil, nonce, key)
        return nonce + cipher
    }

    /// Opens a box sealed by ``seal(_:key:context:)`` with the same key and context.
    /// - Throws: ``SodiumError`` `.tampered` when the box was altered, or the key or context differ.
    public static func open(_ box: [UInt8], key: [UInt8], context: String) throws(SodiumError) -> [UInt8] {
        Sodium.ensureReady()
        guard key.count == PageCipher.keyBytes else { throw SodiumError(.badKey, "a sealing key is \(PageCipher.keyBytes) bytes") }
        guard box.count >= overhead else { throw SodiumError(.tampered, "a sealed box is shorter than its nonce and tag") }
        let nonce = Array(box[..<PageCipher.nonceBytes])
        let cipher = Array(box[PageCipher.nonceBytes...])
        var message = [UInt8](repeating: 0, count: cipher.count - PageCipher.tagBytes)
        let associated = Array(context.utf8)
        let result = crypto_aead_xchacha20poly1305_ietf_decrypt(
            &message, nil, nil, cipher, UInt64(cipher.count), associated, UInt64(associated.count), nonce, key)
        guard result == 0 else { throw SodiumError(.tampered, "the sealed box does not open with this key") }
        return message
    }
}

/// Keys derived from secrets people and machines hold.
public enum KeyDerivation {
    /// Bytes of salt each derivation takes.
    public static let saltBytes = Int(crypto_pwhash_saltbytes())

    /// Argon2id cost for a passphrase someone types: libsodium's "moderate" limits.
    public static let passphraseLimits = (ops: UInt64(crypto_pwhash_opslimit_moderate()), memory: Int(crypto_pwhash_memlimit_moderate()))

    /// A 32-byte key from a passphrase (Argon2id, `crypto_pwhash`).
    /// - Throws: ``SodiumError`` `.outOfMemory` when the memory limit cannot be met, `.badKey` for
    ///   limits or a salt libsodium refuses.
    public static func key(passphrase: [UInt8], salt: [UInt8], ops: UInt64, memory: Int) throws(SodiumError) -> [UInt8] {
        Sodium.ensureReady()
        guard salt.count == saltBytes else { throw SodiumError(.badKey, "a passphrase salt is \(saltBytes) bytes") }
        guard ops >= UInt64(crypto_pwhash_opslimit_min()), ops <= UInt64(crypto_pwhash_opslimit_max()),
            memory >= Int(crypto_pwhash_memlimit_min()), memory <= 4 << 30
        else { throw SodiumError(.badKey, "the passphrase's Argon2id limits are out of range") }
        guard !passphrase.isEmpty else { throw SodiumError(.badKey, "an empty passphrase unlocks nothing") }
        var key = [UInt8](repeating: 0, count: PageCipher.keyBytes)
        let result = passphrase.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                crypto_pwhash(&key, UInt64(key.count), chars.baseAddress!, UInt64(chars.count), salt, ops, memory, crypto_pwhash_ALG_ARGON2ID13)
            }
        }
        guard result == 0 else { throw SodiumError(.outOfMemory, "the passphrase could not be stretched (out of memory)") }
        return key
    }

    /// A 32-byte key from a key file's bytes or a machine credential (keyed BLAKE2b over the salt):
    /// these hold enough randomness not to need stretching.
    public static func key(secret: [UInt8], salt: [UInt8]) -> [UInt8] {
        Sodium.hash([Array("suifang unlock v1".utf8), salt, secret])
    }
}
