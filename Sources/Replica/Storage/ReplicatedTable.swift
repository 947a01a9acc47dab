import GRDB

/// A declared table as the replica uses it: its local id in the change log and its prepared SQL.
final class ReplicatedTable: Sendable {
    let declaration: TableDeclaration
    /// The table's id in `_sf_log`, `_sf_tombstone` (local to this database).
    let id: Int64
    let policies: [ColumnPolicy]
    let keepBothColumns: [Int]
    /// Whether rows arriving in the uniform metadata form can be stored without decoding.
    let acceptsUniformFastPath: Bool
    let columnIndexes: [String: Int]
    let selectSQL: String
    let insertSQL: String
    /// The key, the declared columns and the metadata, quoted, in the order inserts bind them.
    let insertColumns: String
    let updateSQL: String
    let deleteSQL: String

    init(declaration: TableDeclaration, id: Int64) {
        self.declaration = declaration
        self.id = id
        self.policies = declaration.columns.map(\.policy)
        self.keepBothColumns = declaration.columns.indices.filter { declaration.columns[$0].policy == .keepBoth }
        self.acceptsUniformFastPath = !declaration.columns.contains { $0.policy == .addWinsSet || $0.policy == .keepBoth }
        self.columnIndexes = Dictionary(uniqueKeysWithValues: declaration.columns.enumerated().map { ($0.element.name, $0.offset) })
        let table = declaration.name.quotedDatabaseIdentifier
        let key = declaration.primaryKey.quotedDatabaseIdentifier
        let columns = declaration.columns.map(\.name.quotedDatabaseIdentifier)
        self.selectSQL = "SELECT \((columns + ["_sf_meta"]).joined(separator: ", ")) FROM \(table) WHERE \(key) = ?"
        let placeholders = Array(repeating: "?", count: columns.count + 2).joined(separator: ", ")
        self.insertColumns = ([key] + columns + ["_sf_meta"]).joined(separator: ", ")
        self.insertSQL = "INSERT INTO \(table) (\(insertColumns)) VALUES (\(placeholders)) ON CONFLICT DO NOTHING"
        self.updateSQL = "UPDATE \(table) SET \((columns + ["_sf_meta"]).map { "\($0) = ?" }.joined(separator: ", ")) WHERE \(key) = ?"
        self.deleteSQL = "DELETE FROM \(table) WHERE \(key) = ?"
    }

    var name: String { declaration.name }
    var isAppendOnly: Bool { declaration.rowPolicy == .appendOnly }

    /// The plain CREATE TABLE statement; with the metadata column and the write guard's `CHECK`
    /// (see ``WriteGate``) when `replicated`.
    static func createSQL(_ declaration: TableDeclaration, replicated: Bool) -> String {
        var definitions = ["\(declaration.primaryKey.quotedDatabaseIdentifier) TEXT PRIMARY KEY NOT NULL"]
        for column in declaration.columns {
            definitions.append("\(column.name.quotedDatabaseIdentifier) \(column.type.rawValue.uppercased())")
        }
        if replicated {
            definitions.append("_sf_meta BLOB NOT NULL")
            definitions.append(WriteGate.checkClause(declaration.name))
        }
        return "CREATE TABLE \(declaration.name.quotedDatabaseIdentifier) (\(definitions.joined(separator: ", "))) WITHOUT ROWID"
    }
}
