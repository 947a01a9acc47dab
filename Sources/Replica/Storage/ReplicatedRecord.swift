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
    /// Columns that record how the row began (`createdAt`): ``ReplicaTransaction/upsert(_:)``
    /// writes them when it inserts and leaves them alone when it updates.
    static var columnsKeptOnUpdate: Set<String> { get }
}

extension ReplicatedRecord {
    public static var columnsKeptOnUpdate: Set<String> { [] }
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

    /// Inserts a record, or updates its row when the table already has a live row of its id:
    /// every column it writes except ``ReplicatedRecord/columnsKeptOnUpdate`` and the not-null
    /// columns it leaves nil (an account saved without a new password keeps its hash).
    /// - Returns: the row id.
    /// - Throws: as ``insert(into:values:id:)`` and ``update(_:id:set:)``; `rowDeleted` for a deleted id.
    @discardableResult
    public func upsert<Record: ReplicatedRecord>(_ record: Record) throws -> String {
        guard let id = record.id, try rowExists(Record.databaseTableName, id: id) else {
            return try insert(record)
        }
        let table = try replica.table(Record.databaseTableName)
        let notNull = Set(table.declaration.columns.filter(\.notNull).map(\.name))
        let values = try record.columnValues().filter { column, value in
            !Record.columnsKeptOnUpdate.contains(column) && !((value?.databaseValue.isNull ?? true) && notNull.contains(column))
        }
        try update(Record.databaseTableName, id: id, set: values)
        return id
    }

    /// Whether `table` holds a live row `id` (deleted rows do not count).
    public func rowExists(_ table: String, id: String) throws -> Bool {
        let table = try replica.table(table)
        return try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT 1 FROM \(table.name.quotedDatabaseIdentifier) WHERE \(table.declaration.primaryKey.quotedDatabaseIdentifier) = ?"),
            arguments: [id]) == true
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

/// A record whose columns can be named in a typed update: its coding keys, so a column that does
/// not exist is a compile error (`tx.update(PatientRecord.self, id: id, [.phone: number])`).
public protocol UpdatableRecord: ReplicatedRecord {
    associatedtype Columns: RawRepresentable<String>, Hashable
}

extension ReplicaTransaction {
    /// ``update(_:id:set:)`` with the record type's table and typed column names.
    public func update<Record: UpdatableRecord>(
        _ type: Record.Type, id key: String, _ values: [Record.Columns: (any DatabaseValueConvertible)?]
    ) throws {
        try update(Record.databaseTableName, id: key, set: Dictionary(uniqueKeysWithValues: values.map { ($0.key.rawValue, $0.value) }))
    }
}
