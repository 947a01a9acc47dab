import CSodium

/// Password hashes with libsodium's `crypto_pwhash_str` (Argon2id): self-describing strings that
/// carry their salt and limits.
public enum PasswordHash {
    /// How much work one hash costs.
    public enum Strength: Sendable {
        /// `crypto_pwhash_OPSLIMIT_INTERACTIVE` / `MEMLIMIT_INTERACTIVE`: for real accounts.
        case interactive
        /// The smallest limits libsodium accepts: for tests and generated demo data only.
        case minimum

        var limits: (ops: UInt64, mem: Int) {
            switch self {
            case .interactive: (UInt64(crypto_pwhash_opslimit_interactive()), crypto_pwhash_memlimit_interactive())
            case .minimum: (UInt64(crypto_pwhash_opslimit_min()), crypto_pwhash_memlimit_min())
            }
        }
    }

    /// Hashes a password.
    /// - Throws: ``SodiumError`` `.outOfMemory` when libsodium cannot get the memory.
    public static func hash(_ password: String, strength: Strength) throws(SodiumError) -> String {
        Sodium.ensureReady()
        var bytes = password.utf8.map { CChar(bitPattern: $0) }
        defer { wipe(&bytes) }
        var output = [CChar](repeating: 0, count: Int(crypto_pwhash_STRBYTES))
        let (ops, mem) = strength.limits
        let result = crypto_pwhash_str(&output, bytes, UInt64(bytes.count), ops, mem)
        guard result == 0 else { throw SodiumError(.outOfMemory, "the password could not be hashed (out of memory)") }
        return String(cString: output)
    }

    /// Whether `password` matches a stored hash.
    public static func verify(_ password: String, hash: String) -> Bool {
        Sodium.ensureReady()
        var bytes = password.utf8.map { CChar(bitPattern: $0) }
        defer { wipe(&bytes) }
        return hash.withCString { crypto_pwhash_str_verify($0, bytes, UInt64(bytes.count)) == 0 }
    }

    private static func wipe(_ bytes: inout [CChar]) {
        bytes.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress { sodium_memzero(base, raw.count) }
        }
    }
}
