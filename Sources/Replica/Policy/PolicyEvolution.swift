/// How a policy set differs from the one an earlier release shipped, judged against the schema
/// evolution rules (docs/CONFLICT-POLICIES.md, *Changing the policies between releases*).
///
/// A release may only add: a table; a nullable column at the end of a table's columns (existing
/// rows read NULL, its default); lifecycle states after the existing ones; and it may relax a rule
/// (drop `not null`, let more roles write). Anything that changes what stored commits mean is
/// refused: removing or renaming a table or column, reordering columns (commits name columns by
/// position), changing a type, a merge policy, a key, `append-only`, ward ownership, what a ward
/// holds, or the scope root; making a column `not null`; narrowing who writes; allowing deletes.
public struct PolicyEvolution: Sendable {
    /// One difference between the two sets.
    public struct Change: Hashable, Sendable, CustomStringConvertible {
        /// The table it is in.
        public var table: String
        /// The column, when it is one column's.
        public var column: String?
        /// What changed, in words.
        public var what: String
        /// Whether the evolution rules allow it.
        public var isAllowed: Bool

        public var description: String {
            "\(column.map { "\(table).\($0)" } ?? table): \(what)\(isAllowed ? "" : " (not allowed)")"
        }
    }

    /// Every difference, by table then column.
    public let changes: [Change]

    /// Whether every change is allowed: nodes on the two sets can merge each other's commits.
    public var isCompatible: Bool { changes.allSatisfy(\.isAllowed) }

    /// The differences from `old` to `new`.
    public init(from old: PolicySet, to new: PolicySet) {
        var changes: [Change] = []
        let oldTables = Dictionary(uniqueKeysWithValues: old.tables.map { ($0.name, $0) })
        let newNames = Set(new.tables.map(\.name))
        for table in old.tables where !newNames.contains(table.name) {
            changes.append(Change(table: table.name, what: "table removed", isAllowed: false))
        }
        for table in new.tables {
            guard let before = oldTables[table.name] else {
                changes.append(Change(table: table.name, what: "table added", isAllowed: table.scopeRoot == nil))
                continue
            }
            changes += Self.changes(from: before, to: table)
        }
        self.changes = changes
    }

    private static func changes(from old: TableDeclaration, to new: TableDeclaration) -> [Change] {
        var changes: [Change] = []
        func refuse(_ what: String) { changes.append(Change(table: new.name, what: what, isAllowed: false)) }
        if old.primaryKey != new.primaryKey { refuse("key changed from \(old.primaryKey) to \(new.primaryKey)") }
        if old.rowPolicy != new.rowPolicy { refuse("append-only changed") }
        if old.deletable != new.deletable { refuse(new.deletable ? "no-delete dropped" : "no-delete added") }
        if old.ownerColumn != new.ownerColumn { refuse("owned-by changed") }
        if old.hold != new.hold { refuse("hold changed") }
        if old.scopeRoot != new.scopeRoot { refuse("scope-root changed") }
        if !new.writers.isSuperset(of: old.writers) {
            refuse("fewer roles may write (\(old.writers.subtracting(new.writers).map(\.description).sorted().joined(separator: ", ")) no longer)")
        } else if new.writers != old.writers {
            let added = new.writers.subtracting(old.writers).map(\.description).sorted().joined(separator: ", ")
            changes.append(Change(table: new.name, what: "may now be written by \(added)", isAllowed: true))
        }
        for (index, column) in old.columns.enumerated() {
            guard index < new.columns.count else {
                changes.append(Change(table: new.name, column: column.name, what: "column removed", isAllowed: false))
                continue
            }
            changes += Self.changes(from: column, to: new.columns[index], table: new.name)
        }
        for column in new.columns.dropFirst(old.columns.count) {
            if old.columnIndex(column.name) != nil { continue }  // reported as a move above
            changes.append(
                Change(
                    table: new.name, column: column.name, what: column.notNull ? "column added as not null" : "column added",
                    isAllowed: !column.notNull))
        }
        return changes
    }

    private static func changes(from old: ColumnDeclaration, to new: ColumnDeclaration, table: String) -> [Change] {
        guard old.name == new.name else {
            return [Change(table: table, column: old.name, what: "column renamed or moved (now \(new.name) in its place)", isAllowed: false)]
        }
        var changes: [Change] = []
        if old.type != new.type {
            changes.append(Change(table: table, column: new.name, what: "type changed from \(old.type.rawValue) to \(new.type.rawValue)", isAllowed: false))
        }
        if old.notNull != new.notNull {
            changes.append(Change(table: table, column: new.name, what: new.notNull ? "made not null" : "no longer not null", isAllowed: !new.notNull))
        }
        switch (old.policy, new.policy) {
        case (.lifecycle(let before), .lifecycle(let after)) where before != after:
            let appended = after.count > before.count && Array(after.prefix(before.count)) == before
            changes.append(
                Change(
                    table: table, column: new.name,
                    what: appended ? "lifecycle states added: \(after.dropFirst(before.count).joined(separator: " "))" : "lifecycle states changed",
                    isAllowed: appended))
        case (let before, let after) where before.keyword != after.keyword:
            changes.append(Change(table: table, column: new.name, what: "policy changed from \(before.keyword) to \(after.keyword)", isAllowed: false))
        default:
            break
        }
        return changes
    }
}
