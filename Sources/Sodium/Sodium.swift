import CSodium

/// libsodium, initialised once.
///
/// `sodium_init()` "initializes the library and should be called before any other
/// function provided by Sodium"; it returns 0 on success, 1 if already initialised, -1 on failure.
public enum Sodium {
    private static let ready: Bool = sodium_init() >= 0

    public static func ensureReady() {
        precondition(ready, "libsodium could not be initialised")
    }

    /// `count` cryptographically random bytes.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        ensureReady()
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) }
        return bytes
    }

    /// BLAKE2b of the concatenated parts, `length` bytes (16 to 64; 32 by default).
    public static func hash(_ parts: [[UInt8]], length: Int = 32) -> [UInt8] {
        ensureReady()
        precondition((Int(crypto_generichash_bytes_min())...Int(crypto_generichash_bytes_max())).contains(length), "a BLAKE2b digest is 16 to 64 bytes")
        let input = parts.flatMap { $0 }
        var output = [UInt8](repeating: 0, count: length)
        // crypto_generichash returns -1 only for out-of-range key or output sizes.
        let result = input.withUnsafeBufferPointer { crypto_generichash(&output, length, $0.baseAddress, UInt64($0.count), nil, 0) }
        precondition(result == 0, "crypto_generichash failed with valid sizes")
        return output
    }

    /// Keyed BLAKE2b-256 (a MAC) of the concatenated parts; `key` is 16 to 64 bytes.
    public static func mac(key: [UInt8], _ parts: [[UInt8]]) -> [UInt8] {
        ensureReady()
        precondition((Int(crypto_generichash_keybytes_min())...Int(crypto_generichash_keybytes_max())).contains(key.count), "a BLAKE2b key is 16 to 64 bytes")
        let input = parts.flatMap { $0 }
        var output = [UInt8](repeating: 0, count: 32)
        let result = input.withUnsafeBufferPointer { crypto_generichash(&output, 32, $0.baseAddress, UInt64($0.count), key, key.count) }
        precondition(result == 0, "crypto_generichash failed with valid sizes")
        return output
    }

    /// Compares two byte strings in time that does not depend on where they differ.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        ensureReady()
        guard a.count == b.count, !a.isEmpty else { return false }
        return sodium_memcmp(a, b, a.count) == 0
    }

    /// BLAKE2b-256 of a text's UTF-8 bytes, as 64 lowercase hexadecimal digits.
    public static func hexHash(_ text: String) -> String {
        hash([Array(text.utf8)]).map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }

    /// Overwrites memory holding a secret ("sodium_memzero() … zeroes len bytes starting at pnt").
    public static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress { sodium_memzero(base, raw.count) }
        }
    }
}
