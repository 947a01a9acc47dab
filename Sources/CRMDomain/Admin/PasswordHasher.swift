import Dispatch
import Sodium
import Synchronization

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

    /// ``hash(_:strength:)`` on a dispatch queue: Argon2 takes a large part of a second and
    /// must not hold a cooperative thread.
    public static func hash(_ password: String, strength: Strength) async throws(CRMError) -> String {
        let result: Result<String, CRMError> = await offloaded { Result { () throws(CRMError) in try hash(password, strength: strength) } }
        return try result.get()
    }

    /// ``verify(_:hash:)`` on a dispatch queue.
    public static func verify(_ password: String, hash: String) async -> Bool {
        await offloaded { verify(password, hash: hash) }
    }

    /// A hash of no one's password at `strength`, made once: a login for a user that does not exist
    /// checks the password against it, so it costs what a real check costs.
    public static func dummyHash(strength: Strength) async -> String {
        let key = "\(strength)"
        if let known = dummies.withLock({ $0[key] }) { return known }
        let made = (try? await hash("no account has this password", strength: strength)) ?? ""
        dummies.withLock { $0[key] = made }
        return made
    }

    private static let dummies = Mutex<[String: String]>([:])

    private static func offloaded<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async { continuation.resume(returning: work()) }
        }
    }
}
