import CSodium

/// libsodium, initialised once.
///
/// `sodium_init()` "initializes the library and should be called before any other
/// function provided by Sodium"; it returns 0 on success, 1 if already initialised, -1 on failure.
package enum Sodium {
    private static let ready: Bool = sodium_init() >= 0

    package static func ensureReady() {
        precondition(ready, "libsodium could not be initialised")
    }

    /// `count` cryptographically random bytes.
    package static func randomBytes(_ count: Int) -> [UInt8] {
        ensureReady()
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) }
        return bytes
    }

    /// BLAKE2b-256 of the concatenated parts.
    package static func hash(_ parts: [[UInt8]]) -> [UInt8] {
        ensureReady()
        let input = parts.flatMap { $0 }
        var output = [UInt8](repeating: 0, count: 32)
        // crypto_generichash returns -1 only for out-of-range key or output sizes.
        let result = input.withUnsafeBufferPointer { crypto_generichash(&output, 32, $0.baseAddress, UInt64($0.count), nil, 0) }
        precondition(result == 0, "crypto_generichash failed with valid sizes")
        return output
    }

    /// Overwrites memory holding a secret ("sodium_memzero() … zeroes len bytes starting at pnt").
    package static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { sodium_memzero($0.baseAddress!, $0.count) }
    }
}
