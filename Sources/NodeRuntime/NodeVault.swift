import Foundation
import Replica
import Sodium

/// A node's secrets at rest, unlocked: the data key that encrypts the replica's pages and seals
/// the node's secret keys (`node.key`, and `cluster.key` on central).
///
/// `replica.key` holds the data key sealed (XChaCha20-Poly1305) under a key derived from the unlock
/// secret: BLAKE2b over a salt for a key file or credential, Argon2id (libsodium's moderate limits)
/// for a passphrase. The data key itself is never written anywhere in the clear.
package final class NodeVault: Sendable {
    /// The data key's envelope file in the node's directory.
    package static let envelopeFile = "replica.key"
    /// The key pages are encrypted with.
    package let encryption: ReplicaEncryption
    private let dataKey: [UInt8]

    private init(dataKey: [UInt8]) throws {
        self.dataKey = dataKey
        encryption = try ReplicaEncryption(dataKey: dataKey)
    }

    /// A vault with a fresh data key, and its envelope sealed under `secret`.
    package static func create(secret: [UInt8], passphrase: Bool) throws -> (NodeVault, DataKeyEnvelope) {
        let vault = try NodeVault(dataKey: PageCipher.randomKey())
        return (vault, try DataKeyEnvelope.seal(vault.dataKey, secret: secret, passphrase: passphrase))
    }

    /// Opens the data key in `envelope` with `secret`.
    /// - Throws: ``NodeSetupError`` when the secret does not open it.
    package static func open(_ envelope: DataKeyEnvelope, secret: [UInt8]) throws -> NodeVault {
        try NodeVault(dataKey: try envelope.open(secret: secret))
    }

    /// Seals a secret file's bytes (`name` is bound to them: a sealed node key does not open as a cluster key).
    package func seal(_ bytes: [UInt8], as name: String) throws -> [UInt8] {
        try SealedBox.seal(bytes, key: dataKey, context: "suifang \(name)")
    }

    /// Opens a secret file sealed by ``seal(_:as:)``.
    /// - Throws: ``NodeSetupError`` when it was altered or sealed under another data key.
    package func open(_ bytes: [UInt8], as name: String) throws -> [UInt8] {
        do {
            return try SealedBox.open(bytes, key: dataKey, context: "suifang \(name)")
        } catch {
            throw NodeSetupError("\(name) does not open under this node's data key: it was altered, or belongs to another key")
        }
    }

    /// The same sealing under a new data key (for `rekey`).
    package func rekeyed() throws -> (NodeVault, newKey: [UInt8]) {
        let key = PageCipher.randomKey()
        return (try NodeVault(dataKey: key), key)
    }

    /// The data key sealed under a secret (for `rekey`).
    package func envelope(secret: [UInt8], passphrase: Bool) throws -> DataKeyEnvelope {
        try DataKeyEnvelope.seal(dataKey, secret: secret, passphrase: passphrase)
    }

    /// A page cipher under this vault's data key (for `rekey`, which re-encrypts pages itself).
    package func pageCipher() throws -> PageCipher { try PageCipher(key: dataKey) }
}

/// `replica.key`: the data key sealed under the unlock secret, with what derives the sealing key.
package struct DataKeyEnvelope: Codable, Sendable {
    package var format = "suifang-data-key-1"
    /// `key` (a key file or credential) or `passphrase`.
    package var secret: String
    package var salt: String
    /// Argon2id limits (passphrases only).
    package var operations: UInt64?
    package var memory: Int?
    package var sealed: String

    static let context = "suifang data key"

    static func seal(_ dataKey: [UInt8], secret: [UInt8], passphrase: Bool) throws -> DataKeyEnvelope {
        let salt = Sodium.randomBytes(KeyDerivation.saltBytes)
        let limits = KeyDerivation.passphraseLimits
        var envelope = DataKeyEnvelope(
            secret: passphrase ? "passphrase" : "key", salt: Data(salt).base64EncodedString(),
            operations: passphrase ? limits.ops : nil, memory: passphrase ? limits.memory : nil, sealed: "")
        var wrapping = try envelope.wrappingKey(secret: secret)
        defer { Sodium.wipe(&wrapping) }
        envelope.sealed = Data(try SealedBox.seal(dataKey, key: wrapping, context: context)).base64EncodedString()
        return envelope
    }

    func open(secret: [UInt8]) throws -> [UInt8] {
        guard format == "suifang-data-key-1", let sealed = Data(base64Encoded: sealed) else {
            throw NodeSetupError("\(NodeVault.envelopeFile) is not a Suifang data-key file")
        }
        var wrapping = try wrappingKey(secret: secret)
        defer { Sodium.wipe(&wrapping) }
        do {
            return try SealedBox.open(Array(sealed), key: wrapping, context: Self.context)
        } catch {
            throw NodeSetupError("the unlock secret does not open this node's data key (wrong key file, credential or passphrase)")
        }
    }

    private func wrappingKey(secret: [UInt8]) throws -> [UInt8] {
        guard let salt = Data(base64Encoded: salt), salt.count == KeyDerivation.saltBytes else {
            throw NodeSetupError("\(NodeVault.envelopeFile) has no valid salt")
        }
        switch self.secret {
        case "key":
            return KeyDerivation.key(secret: secret, salt: Array(salt))
        case "passphrase":
            guard let operations, let memory else { throw NodeSetupError("\(NodeVault.envelopeFile) lacks its passphrase limits") }
            // The file may come from a backup or a copied directory: limits beyond what `seal` writes
            // would make the first unlock spend hours or gigabytes before any check can fail.
            guard operations <= KeyDerivation.passphraseLimits.ops, memory <= KeyDerivation.passphraseLimits.memory else {
                throw NodeSetupError("\(NodeVault.envelopeFile) asks for more passphrase stretching than any Suifang release writes: refused")
            }
            do {
                return try KeyDerivation.key(passphrase: secret, salt: Array(salt), ops: operations, memory: memory)
            } catch {
                throw NodeSetupError("the passphrase could not be stretched: \(error.message)")
            }
        default:
            throw NodeSetupError("\(NodeVault.envelopeFile) names an unknown kind of secret")
        }
    }
}
