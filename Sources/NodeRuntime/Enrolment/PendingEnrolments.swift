import Foundation
import Sodium
import SyncProtocol

/// A one-time code central issued and nobody has redeemed yet: what the node it enrols will be.
/// The code itself is not kept, only its id and the key derived from it, sealed like node.key.
package struct PendingEnrolment: Codable, Sendable {
    /// ``EnrolmentCode/identifier(_:)`` of the code, base64.
    package var codeID: String
    /// ``EnrolmentCode/key(_:)`` of the code, base64.
    package var codeKey: String
    package var name: String
    package var role: String
    package var wards: [String]
    package var httpNames: [String]
    /// Validity of the certificate it will get, in days.
    package var validDays: Int
    /// When the code stops working, ms since 1970.
    package var expiresAt: UInt64
    /// Requests with this code's id that the code did not authenticate.
    package var failures = 0
}

/// The pending codes of one central, in `enrolment-codes` (sealed), changed only under
/// `enrolment.lock` so `suifang enroll` and the running central never lose each other's change.
struct PendingEnrolments {
    static let file = "enrolment-codes"
    static let lockFile = "enrolment.lock"
    /// Failed attempts after which a code is destroyed.
    static let maximumFailures = 3

    let directory: NodeDirectory

    /// Runs `body` on the pending codes (expired ones already dropped) under the lock, and saves
    /// what it leaves when it changed anything, also when it throws (a failed attempt counts).
    func update<T>(now: UInt64, _ body: (inout [PendingEnrolment]) throws -> T) throws -> T {
        let lock = try NodeLock(directory, file: Self.lockFile, wait: true, purpose: "changing enrolment codes")
        defer { withExtendedLifetime(lock) {} }
        let stored = try load()
        var pending = stored.filter { $0.expiresAt > now }
        let result = Result { try body(&pending) }
        if pending.count != stored.count || !pending.elementsEqual(stored, by: { $0.codeID == $1.codeID && $0.failures == $1.failures }) {
            try directory.writeSecret(Array(try JSONEncoder().encode(pending)), to: Self.file)
        }
        return try result.get()
    }

    private func load() throws -> [PendingEnrolment] {
        guard FileManager.default.fileExists(atPath: directory.file(Self.file).path) else { return [] }
        do {
            return try JSONDecoder().decode([PendingEnrolment].self, from: Data(try directory.readSecret(Self.file)))
        } catch let error as NodeSetupError {
            throw error
        } catch {
            throw NodeSetupError("\(directory.file(Self.file).path) is unreadable")
        }
    }
}
