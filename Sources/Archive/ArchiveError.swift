/// Why the archive could not be set up or written. Messages name tables, hosts and settings,
/// never a row's values or the archive's password.
public struct ArchiveError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, by kind.
    public enum Code: String, Sendable {
        /// The `postgres://` address or its settings are not usable.
        case badTarget
        /// The policies cannot be mirrored (a name that clashes once converted).
        case badSchema
        /// The archive database holds this hospital's name for another hospital (cluster).
        case hospitalClash
        /// This central's role may neither set the archive up nor write the hospital: the
        /// archive's administrator has not registered it (`suifang archive setup`).
        case notRegistered
        /// The archive's schema holds what its administrator did not make (objects another role
        /// owns, a table posing as a partition): nothing is set up or written until it is removed.
        case untrustedSchema
        /// The archive database refused or lost a write.
        case database
    }

    /// The kind.
    public var code: Code
    /// What to tell the operator.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "archive: \(message)" }

    /// `hospital` is bound to another cluster's central (the same role, another cluster key).
    static func otherCluster(_ hospital: String) -> ArchiveError {
        ArchiveError(.hospitalClash, "the archive already holds hospital '\(hospital)' for another cluster: give this central its own --archive-hospital name")
    }

    /// `hospital` is registered for a role other than this central's.
    static func otherRole(_ hospital: String) -> ArchiveError {
        ArchiveError(.hospitalClash, "the archive holds hospital '\(hospital)' for another role: give this central its own --archive-hospital name")
    }
}
