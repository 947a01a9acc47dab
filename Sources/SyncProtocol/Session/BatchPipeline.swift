import Replica
import Sodium

/// The per-batch work of a sending session, outside the network: compress the encoded
/// batch, wrap it in a batch message, seal it in the secretstream. Benchmarks time exactly
/// this against raw zlib + libsodium.
public final class BatchPipeline {
    private let stream: SecretStreamSender
    private let level: Int32
    private var nextID: UInt64 = 1

    /// A pipeline with a fresh random key.
    public init(compressionLevel: Int32 = 1) throws {
        self.stream = try SyncError.checking { () throws(SodiumError) in try SecretStreamSender(key: Sodium.randomBytes(32)) }
        self.level = compressionLevel
    }

    /// Compresses and seals one encoded change batch; returns the frame's payload.
    public func seal(_ encodedBatch: [UInt8]) throws -> [UInt8] {
        let compressed = try BatchCompression.compress(encodedBatch, level: level)
        defer { nextID += 1 }
        return stream.seal(SyncMessage.batch(id: nextID, compressed: compressed).encoded)
    }
}
