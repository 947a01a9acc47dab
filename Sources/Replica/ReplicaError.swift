/// An error from the replica. Messages name tables, columns and row ids,
/// never a column's value: values may be patient data.
public struct ReplicaError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The closed set of reasons a replica refuses something.
    public enum Code: String, Hashable, Sendable {
        /// The table is not declared in the policy set.
        case unknownTable
        /// The column is not declared for the table.
        case unknownColumn
        /// A local insert used an id that already exists.
        case duplicateKey
        /// No live row has this id.
        case rowNotFound
        /// The row was deleted; deleted rows never come back.
        case rowDeleted
        /// The table is append-only: its rows cannot change.
        case immutableRow
        /// A lifecycle column cannot move back to an earlier state.
        case lifecycleRegression
        /// A first-writer-wins column already holds another value.
        case alreadyTaken
        /// The value does not fit the column (wrong type, unknown state, bad id).
        case invalidValue
        /// The operation does not fit the column's policy.
        case wrongPolicy
        /// A change batch does not match the declared tables.
        case incompatibleBatch
        /// The database holds a table whose shape contradicts its declaration.
        case schemaMismatch
        /// The database belongs to another node, or its metadata is unreadable.
        case corruptMetadata
        /// One commit changes more rows than a peer accepts in one batch (a commit is never split).
        case commitTooLarge
        /// SQLite did not take a setting the replica needs (durability).
        case unsupportedSetting
        /// This node's role may not make this write (the table's `write` line or `no-delete`).
        case notAuthorized
        /// A peer sent commits that are not what their origin signed (forged, altered or replayed out of chain).
        case forgedCommit
        /// An encrypted page of the replica's files failed authentication (altered, moved, or another key).
        case tampered
    }

    /// Why the replica refused.
    public let code: Code
    /// A message for people, free of patient data.
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
