import CSodium

/// Page encryption for the replica's files: XChaCha20-Poly1305 (IETF) with a random 24-byte nonce
/// per write and a 16-byte tag, both kept in the last ``reservedBytes`` of the page itself (SQLite
/// leaves them unused: the database reserves them in its header). What a page is authenticated
/// with besides its bytes — which file and which page or offset — is the caller's `context`, so a
/// page copied to another place fails to open.
///
/// The key lives in memory libsodium locks and guards (`sodium_malloc`) and is wiped when the
/// cipher goes away.
public final class PageCipher: @unchecked Sendable {
    /// Nonce bytes at the end of each page.
    public static let nonceBytes = Int(crypto_aead_xchacha20poly1305_ietf_npubbytes())
    /// Tag bytes after the nonce.
    public static let tagBytes = Int(crypto_aead_xchacha20poly1305_ietf_abytes())
    /// What each page gives up: nonce and tag (40 bytes).
    public static let reservedBytes = nonceBytes + tagBytes
    /// Bytes in a key.
    public static let keyBytes = Int(crypto_aead_xchacha20poly1305_ietf_keybytes())

    private let key: UnsafeMutableRawPointer

    /// - Throws: ``SodiumError`` `.badKey` for a key that is not ``keyBytes`` long,
    ///   `.outOfMemory` when guarded memory is not available.
    public init(key bytes: [UInt8]) throws(SodiumError) {
        Sodium.ensureReady()
        guard bytes.count == Self.keyBytes else { throw SodiumError(.badKey, "a page key is \(Self.keyBytes) bytes") }
        guard let memory = sodium_malloc(Self.keyBytes) else { throw SodiumError(.outOfMemory, "no guarded memory for a page key") }
        bytes.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: Self.keyBytes) }
        sodium_mprotect_readonly(memory)
        key = memory
    }

    deinit {
        sodium_free(key)
    }

    /// A fresh random key.
    public static func randomKey() -> [UInt8] { Sodium.randomBytes(keyBytes) }

    /// Encrypts the first `pageBytes - reservedBytes` bytes of `plain` into `cipher` (which may be
    /// `plain`) and writes a fresh nonce and the tag into `cipher`'s last ``reservedBytes``.
    public func seal(_ plain: UnsafeRawPointer, into cipher: UnsafeMutableRawPointer, pageBytes: Int, context: PageContext) {
        let body = pageBytes - Self.reservedBytes
        precondition(body > 0, "a page is larger than its reserved bytes")
        let nonce = cipher + body
        randombytes_buf(nonce, Self.nonceBytes)
        let tag = nonce + Self.nonceBytes
        withUnsafeBytes(of: context.bytes) { associated in
            // Only fails for messages over 256 GiB.
            _ = crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
                cipher.assumingMemoryBound(to: UInt8.self), tag.assumingMemoryBound(to: UInt8.self), nil,
                plain.assumingMemoryBound(to: UInt8.self), UInt64(body),
                associated.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(associated.count), nil,
                nonce.assumingMemoryBound(to: UInt8.self), key.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Decrypts a page in place; `false` when its tag does not verify (altered, moved, or another
    /// key). The reserved bytes are zeroed after a successful open.
    public func open(_ page: UnsafeMutableRawPointer, pageBytes: Int, context: PageContext) -> Bool {
        let body = pageBytes - Self.reservedBytes
        guard body > 0 else { return false }
        let nonce = page + body
        let tag = nonce + Self.nonceBytes
        let result = withUnsafeBytes(of: context.bytes) { associated in
            crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
                page.assumingMemoryBound(to: UInt8.self), nil,
                page.assumingMemoryBound(to: UInt8.self), UInt64(body),
                tag.assumingMemoryBound(to: UInt8.self),
                associated.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(associated.count),
                nonce.assumingMemoryBound(to: UInt8.self), key.assumingMemoryBound(to: UInt8.self))
        }
        guard result == 0 else { return false }
        sodium_memzero(nonce, Self.reservedBytes)
        return true
    }
}

/// What a page is bound to besides its bytes: the kind of file and the page's place in it.
public struct PageContext: Sendable {
    /// The domain and the position as two little-endian 64-bit words (16 bytes, no padding).
    fileprivate let bytes: (UInt64, UInt64)

    /// `domain` names the kind of file (database, write-ahead log); `position` the page's number or offset.
    public init(domain: UInt8, position: UInt64) {
        bytes = (UInt64(domain).littleEndian, position.littleEndian)
    }
}
