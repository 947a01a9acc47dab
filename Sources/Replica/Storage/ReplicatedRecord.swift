import GRDB

/// A Swift type for the rows of one replicated table (GRDB's record protocols): its coding keys
/// are the table's declared columns, and `id` its key. A typo in a column name is found by
/// ``Replica/undeclaredColumns(of:)`` in a test, not at run time as `unknownColumn`.
///
/// ```swift
/// struct AuditRecord: ReplicatedRecord {
///     static let databaseTableName = "auditEntry"
///     var id: String?
///     var at: String
///     …
/// }
/// try replica.write { tx in try tx.insert(AuditRecord(at: now, …)) }
/// ```
public protocol ReplicatedRecord: EncodableRecord, TableRecord, Sendable {
    /// The row id; nil lets the replica make one (bound as this node must bind it).
    var id: String? { get }
}

extension ReplicatedRecord {
    /// The record's column values, without its key.
    func columnValues() throws -> [String: (any DatabaseValueConvertible)?] {
        var values = try databaseDictionary
        values.removeValue(forKey: "id")
        return values.mapValues { $0 as (any DatabaseValueConvertible)? }
    }
}

extension ReplicaTransaction {
    /// Inserts a record: ``insert(into:values:id:)`` with its table, columns and id.
    /// - Returns: the row id.
    @discardableResult
    public func insert(_ record: some ReplicatedRecord) throws -> String {
        try insert(into: type(of: record).databaseTableName, values: try record.columnValues(), id: record.id)
    }
}

extension Replica {
    /// The columns a record writes that its table does not declare, and the declared columns it
    /// leaves out: both empty for a record that matches the policy files. For tests.
    public func undeclaredColumns(of record: some ReplicatedRecord) throws -> (extra: Set<String>, missing: Set<String>) {
        let table = try table(type(of: record).databaseTableName)
        let declared = Set(table.declaration.columns.map(\.name))
        let written = Set(try record.columnValues().keys)
        return (written.subtracting(declared), declared.subtracting(written))
    }
}
