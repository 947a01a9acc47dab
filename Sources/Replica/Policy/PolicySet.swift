import Foundation
import Sodium

/// The replicated tables and their conflict policies, loaded from `conflict-policies/`.
///
/// A policy set has a content hash (BLAKE2b-256 of its canonical text) that
/// nodes compare when they connect: two nodes merge only under identical policies.
public struct PolicySet: Hashable, Sendable {
    /// The tables, sorted by name.
    public let tables: [TableDeclaration]
    /// Hex BLAKE2b-256 of the canonical text of all tables.
    public let contentHash: String
    /// The declaration deciding which patients a ward node holds, when the tables declare scopes.
    public let patientScope: PatientScopeRoot?

    /// Whether ward nodes hold a subset (some table declares `hold`): they then sync with central
    /// only, through its scoped feed, instead of exchanging commit logs.
    public var isScoped: Bool { tables.contains { $0.hold != nil } }

    /// Creates a policy set from declarations.
    /// - Throws: ``PolicyFileError`` when two tables share a name.
    public init(tables: [TableDeclaration]) throws(PolicyFileError) {
        var seen: Set<String> = []
        for table in tables where !seen.insert(table.name).inserted {
            throw PolicyFileError(file: "<declarations>", line: 0, problem: "table '\(table.name)' is declared twice")
        }
        self.tables = tables.sorted { $0.name < $1.name }
        self.patientScope = try Self.checkedScope(self.tables)
        self.contentHash = Self.digest(Self.canonicalText(of: self.tables))
    }

    /// Parses policy text; `file` names it in errors.
    public init(parsing text: String, file: String = "<text>") throws(PolicyFileError) {
        try self.init(tables: PolicyFileParser(file: file).parse(text).map(\.0))
    }

    /// Loads every `*.policy` file in a directory (one file per table or domain area).
    /// - Throws: ``PolicyFileError`` naming the file and line of the first problem,
    ///   including a table declared in two files.
    public static func load(directory: URL) throws(PolicyFileError) -> PolicySet {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0.hasSuffix(".policy") }
                .sorted()
        } catch {
            throw PolicyFileError(file: directory.path, line: 0, problem: "cannot list the directory")
        }
        if names.isEmpty {
            throw PolicyFileError(file: directory.path, line: 0, problem: "no .policy files")
        }
        var tables: [TableDeclaration] = []
        var origins: [String: String] = [:]
        for name in names {
            let path = directory.appendingPathComponent(name).path
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw PolicyFileError(file: path, line: 0, problem: "cannot read the file as UTF-8")
            }
            for (table, line) in try PolicyFileParser(file: path).parse(text) {
                if let other = origins[table.name] {
                    throw PolicyFileError(file: path, line: line, problem: "table '\(table.name)' is already declared in \(other)")
                }
                origins[table.name] = "\(path):\(line)"
                tables.append(table)
            }
        }
        return try PolicySet(tables: tables)
    }

    /// Checks the scope declarations against each other: one root at most, on a table held by
    /// patient through the root's own patient column, naming declared columns of the right types;
    /// `hold patient` only with a root; `hold` columns declared as text.
    private static func checkedScope(_ tables: [TableDeclaration]) throws(PolicyFileError) -> PatientScopeRoot? {
        func fail(_ problem: String) -> PolicyFileError { PolicyFileError(file: "<declarations>", line: 0, problem: problem) }
        let roots = tables.compactMap(\.scopeRoot)
        guard roots.count <= 1 else { throw fail("more than one table declares 'scope-root'") }
        func column(_ table: TableDeclaration, _ name: String, _ type: ColumnType) throws(PolicyFileError) {
            guard let index = table.columnIndex(name), table.columns[index].type == type else {
                throw fail("table '\(table.name)' has no \(type.rawValue) column '\(name)' for its scope declaration")
            }
        }
        for table in tables {
            if table.hold != nil, table.deletable {
                throw fail("table '\(table.name)' declares 'hold' and must be no-delete: a ward node purges rows, and a purge must never pass for a delete")
            }
            if table.hold == .author, table.rowPolicy != .appendOnly {
                throw fail("table '\(table.name)' is 'hold author', which only append-only tables can be (their author is the row's one writer)")
            }
            switch table.hold {
            case .ward(let name): try column(table, name, .text)
            case .patient(let name):
                guard !roots.isEmpty else { throw fail("table '\(table.name)' is held by patient, but no table declares 'scope-root'") }
                if name != table.primaryKey { try column(table, name, .text) }
            case .all, .author, nil: break
            }
        }
        guard let root = roots.first, let table = tables.first(where: { $0.name == root.table }) else { return nil }
        guard table.hold == .patient(column: root.patientColumn) else {
            throw fail("table '\(table.name)' declares 'scope-root', so it must be 'hold patient \(root.patientColumn)'")
        }
        try column(table, root.wardColumn, .text)
        try column(table, root.endedColumn, .text)
        try column(table, root.cancelledColumn, .integer)
        guard let window = tables.first(where: { $0.name == root.windowTable }) else {
            throw fail("the scope window's table '\(root.windowTable)' is not declared")
        }
        try column(window, root.windowColumn, .text)
        return root
    }

    /// The declaration of a table, if it is replicated.
    public func table(named name: String) -> TableDeclaration? {
        tables.first { $0.name == name }
    }

    /// The canonical text of tables sorted by name: what ``contentHash`` hashes.
    static func canonicalText(of tables: [TableDeclaration]) -> String {
        tables.map(\.canonicalText).joined(separator: "\n\n")
    }

    private static func digest(_ text: String) -> String {
        Sodium.hexHash(text)
    }
}
