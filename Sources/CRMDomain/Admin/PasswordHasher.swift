import Sodium

/// Account passwords: libsodium's Argon2id strings (``PasswordHash``), failures as ``CRMError``.
public enum PasswordHasher {
    /// How much work one hash costs (interactive for real accounts, minimum for tests and demo data).
    public typealias Strength = PasswordHash.Strength

    /// Hashes a password; throws when libsodium cannot get the memory.
    public static func hash(_ password: String, strength: Strength) throws(CRMError) -> String {
        do {
            return try PasswordHash.hash(password, strength: strength)
        } catch {
            throw CRMError(.invalid, error.message)
        }
    }

    /// Whether `password` matches a stored hash.
    public static func verify(_ password: String, hash: String) -> Bool {
        PasswordHash.verify(password, hash: hash)
    }
}
