import CSodium
import Foundation

/// BLAKE2b-256 over parts fed one after another (`crypto_generichash_init/update/final`),
/// so a commit's hash never needs its parts copied into one buffer. Owns its state buffer
/// (`crypto_generichash_statebytes()` bytes, 64-byte aligned as libsodium asks).
public final class Blake2b256 {
    private let state: OpaquePointer
    private let buffer: UnsafeMutableRawPointer

    public init() {
        Sodium.ensureReady()
        buffer = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
        state = OpaquePointer(buffer)
        // "returns 0 on success, -1 on error": only for out-of-range key or output sizes.
        let result = crypto_generichash_init(state, nil, 0, 32)
        precondition(result == 0, "crypto_generichash_init failed with valid sizes")
    }

    deinit {
        sodium_memzero(buffer, crypto_generichash_statebytes())
        buffer.deallocate()
    }

    public func update(_ bytes: some ContiguousBytes) {
        bytes.withUnsafeBytes { raw in
            _ = crypto_generichash_update(state, raw.bindMemory(to: UInt8.self).baseAddress, UInt64(raw.count))
        }
    }

    public func update(fixed64 value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            _ = crypto_generichash_update(state, raw.bindMemory(to: UInt8.self).baseAddress, 8)
        }
    }

    public func finish() -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 32)
        let result = crypto_generichash_final(state, &output, 32)
        precondition(result == 0, "crypto_generichash_final failed with valid sizes")
        return output
    }
}
