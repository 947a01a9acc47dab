/// One replicated column: its name, SQLite type and merge policy.
public struct ColumnDeclaration: Hashable, Sendable {
    /// The column name (an identifier).
    public var name: String
    /// The storage type.
    public var type: ColumnType
    /// How concurrent writes merge.
    public var policy: ColumnPolicy
    /// Whether every write must give a value (`not null`): the domain relies on it.
    public var notNull: Bool

    /// Creates a column declaration.
    public init(_ name: String, _ type: ColumnType, _ policy: ColumnPolicy = .lastWriterWins, notNull: Bool = false) {
        self.name = name
        self.type = type
        self.policy = policy
        self.notNull = notNull
    }
}

/// One replicated table: a text primary key holding offline-generated ids, and declared columns.
public struct TableDeclaration: Hashable, Sendable {
    /// The table name (singular camelCase, an identifier).
    public var name: String
    /// The primary key column (TEXT, holds ULIDs).
    public var primaryKey: String
    /// The declared columns, primary key excluded, in declaration order.
    public var columns: [ColumnDeclaration]
    /// Whether rows may change after they are written.
    public var rowPolicy: RowPolicy
    /// The roles of node that may write rows (`write central ward callcenter`); all when not declared.
    public var writers: Set<NodeRole>
    /// Whether rows may be deleted; `no-delete` tables refuse deletes locally and from peers.
    public var deletable: Bool
    /// The text column naming the ward a row belongs to (`owned-by wardId`): a ward node writes
    /// such rows only for the wards its certificate names.
    public var ownerColumn: String?
    /// Which rows a ward node holds (`hold ...`); nil: none (central and call centers hold every row).
    public var hold: HoldRule?
    /// Set on the one table whose rows decide which patients a ward node holds.
    public var scopeRoot: PatientScopeRoot?

    /// Creates a table declaration.
    public init(
        name: String, primaryKey: String = "id", columns: [ColumnDeclaration], rowPolicy: RowPolicy = .mutable,
        writers: Set<NodeRole> = Set(NodeRole.allCases), deletable: Bool = true, ownerColumn: String? = nil,
        hold: HoldRule? = nil, scopeRoot: PatientScopeRoot? = nil
    ) {
        self.ownerColumn = ownerColumn
        self.hold = hold
        self.scopeRoot = scopeRoot
        self.name = name
        self.primaryKey = primaryKey
        self.columns = columns
        self.rowPolicy = rowPolicy
        self.writers = writers
        self.deletable = deletable
    }

    /// The index of a declared column, if any.
    public func columnIndex(_ name: String) -> Int? {
        columns.firstIndex { $0.name == name }
    }

    /// The canonical text of this declaration, used for the policy hash.
    var canonicalText: String {
        var lines = ["table \(name)" + (rowPolicy == .appendOnly ? " append-only" : ""), "key \(primaryKey)"]
        lines.append("write " + writers.sorted { $0.rawValue < $1.rawValue }.map(\.description).joined(separator: " "))
        if !deletable { lines.append("no-delete") }
        if let ownerColumn { lines.append("owned-by \(ownerColumn)") }
        if let hold { lines.append(hold.canonicalText) }
        if let scopeRoot { lines.append(scopeRoot.canonicalText) }
        for column in columns {
            lines.append("column \(column.name) \(column.type.rawValue)" + (column.notNull ? " not null" : "") + " \(column.policy.canonicalText)")
        }
        return lines.joined(separator: "\n")
    }
}
