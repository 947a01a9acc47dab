import CZlib

/// One-shot zlib for bytes the replica keeps on disk (packed commits). No stream handle outlives a
/// call: `compress2` and `uncompress` own theirs.
enum Deflate {
    /// Compresses `bytes` at `level` (1: fastest; the project brief's measurements of this machine type found it 3× cheaper than 6 for 10–17 % more bytes).
    static func compress(_ bytes: [UInt8], level: Int32 = 1) -> [UInt8] {
        var capacity = compressBound(uLong(bytes.count))
        var output = [UInt8](repeating: 0, count: Int(capacity))
        let status = output.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBufferPointer { input in
                compress2(out.baseAddress, &capacity, input.baseAddress, uLong(input.count), level)
            }
        }
        // compressBound is enough by zlib's contract; anything else is a broken library.
        precondition(status == Z_OK, "zlib compress2 failed with \(status)")
        output.removeSubrange(Int(capacity)...)
        return output
    }

    /// Inflates bytes that must come to exactly `expectedCount`; nil when they are corrupt or do not.
    static func decompress(_ bytes: [UInt8], expectedCount: Int) -> [UInt8]? {
        guard expectedCount >= 0 else { return nil }
        var length = uLong(expectedCount)
        var output = [UInt8](repeating: 0, count: max(expectedCount, 1))
        let status = output.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBufferPointer { input in
                uncompress(out.baseAddress, &length, input.baseAddress, uLong(input.count))
            }
        }
        guard status == Z_OK, Int(length) == expectedCount else { return nil }
        output.removeSubrange(expectedCount...)
        return output
    }
}
