import Foundation
import CSodium

/// Password hashes with libsodium's `crypto_pwhash_str` (Argon2id), self-describing strings.
public enum PasswordHasher {
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

    /// Hashes a password; throws when libsodium cannot get the memory.
    public static func hash(_ password: String, strength: Strength) throws(CRMError) -> String {
        _ = SodiumOnce.ready
        let bytes = Array(password.utf8)
        var output = [CChar](repeating: 0, count: Int(crypto_pwhash_STRBYTES))
        let (ops, mem) = strength.limits
        guard crypto_pwhash_str(&output, bytes.map { CChar(bitPattern: $0) }, UInt64(bytes.count), ops, mem) == 0 else {
            throw CRMError(.invalid, "the password could not be hashed (out of memory)")
        }
        return String(cString: output)
    }

    /// Whether `password` matches a stored hash.
    public static func verify(_ password: String, hash: String) -> Bool {
        _ = SodiumOnce.ready
        let bytes = Array(password.utf8).map { CChar(bitPattern: $0) }
        return hash.withCString { crypto_pwhash_str_verify($0, bytes, UInt64(bytes.count)) == 0 }
    }
}
