import Foundation
import Replica

/// How the replicated tables look in the archive: schema `suifang`, one table per replicated
/// table, names in snake_case (`surveyResponse.templateId` → `survey_response.template_id`),
/// typed columns (`text`, `bigint`, `double precision`, `bytea`), and per row its hospital, the
/// origin and commit that last changed it, its newest write stamp and when it was archived.
/// Several hospitals share the tables: the primary key is (`_hospital`, key).
struct ArchiveSchema: Sendable {
    static let name = "suifang"
    let tables: [ArchiveTable]

    init(policies: PolicySet) throws(ArchiveError) {
        var seen: [String: String] = [:]
        var tables: [ArchiveTable] = []
        for declaration in policies.tables {
            let table = ArchiveTable(declaration)
            if let clash = seen.updateValue(declaration.name, forKey: table.name) {
                throw ArchiveError(.badSchema, "tables '\(clash)' and '\(declaration.name)' would both be '\(table.name)' in the archive")
            }
            let names = [table.key] + table.columns.map(\.name) + ArchiveTable.metaColumns.map(\.name)
            if let twice = Dictionary(grouping: names, by: { $0 }).first(where: { $0.value.count > 1 }) {
                throw ArchiveError(.badSchema, "table '\(declaration.name)' would have column '\(twice.key)' twice in the archive")
            }
            tables.append(table)
        }
        self.tables = tables
    }

    /// Statements that create what is missing (tables, columns a later release added, the
    /// bookkeeping tables); safe to run again.
    var creation: [String] {
        var statements = [
            "CREATE SCHEMA IF NOT EXISTS \(Self.name)",
            """
            CREATE TABLE IF NOT EXISTS \(Self.name)._archive_hospital (
                hospital text PRIMARY KEY, cluster_key text NOT NULL,
                first_archived_at timestamptz NOT NULL DEFAULT now(), last_archived_at timestamptz)
            """,
            """
            CREATE TABLE IF NOT EXISTS \(Self.name)._archive_mark (
                hospital text NOT NULL REFERENCES \(Self.name)._archive_hospital (hospital), origin text NOT NULL, seq bigint NOT NULL,
                PRIMARY KEY (hospital, origin))
            """,
        ]
        for table in tables {
            let columns =
                [("\(quoted(table.key)) text NOT NULL")] + table.columns.map { "\(quoted($0.name)) \($0.type)" }
                + ArchiveTable.metaColumns.map { "\($0.name) \($0.definition)" }
            statements.append(
                "CREATE TABLE IF NOT EXISTS \(table.qualified) (\(columns.joined(separator: ", ")), PRIMARY KEY (_hospital, \(quoted(table.key))))")
            for column in table.columns {
                statements.append("ALTER TABLE \(table.qualified) ADD COLUMN IF NOT EXISTS \(quoted(column.name)) \(column.type)")
            }
        }
        return statements
    }
}

/// One replicated table in the archive.
struct ArchiveTable: Sendable {
    /// The bookkeeping columns every archived row has.
    static let metaColumns: [(name: String, definition: String)] = [
        ("_hospital", "text NOT NULL"), ("_origin", "text NOT NULL"), ("_seq", "bigint NOT NULL"),
        ("_stamp_ms", "bigint NOT NULL"), ("_archived_at", "timestamptz NOT NULL DEFAULT now()"),
    ]

    let declaration: TableDeclaration
    let name: String
    let key: String
    /// The archived columns: name, PostgreSQL type, declared type, index among the declared columns.
    let columns: [(name: String, type: String, declared: ColumnType, index: Int)]

    /// Columns never archived: secrets the group office has no use for (a leaked BI database must
    /// not hand out the hospital's password hashes).
    static let withheldColumns: Set<String> = ["passwordHash"]

    init(_ declaration: TableDeclaration) {
        self.declaration = declaration
        name = Self.snakeCase(declaration.name)
        key = Self.snakeCase(declaration.primaryKey)
        columns = declaration.columns.enumerated().compactMap { index, column in
            guard !Self.withheldColumns.contains(column.name) else { return nil }
            let type =
                switch column.type {
                case .text: "text"
                case .integer: "bigint"
                case .real: "double precision"
                case .blob: "bytea"
                }
            return (Self.snakeCase(column.name), type, column.type, index)
        }
    }

    var qualified: String { "\(ArchiveSchema.name).\(quoted(name))" }

    /// The columns a page writes, in COPY order.
    var copyColumns: [String] { [key] + columns.map(\.name) + ["_hospital", "_origin", "_seq", "_stamp_ms"] }

    /// `camelCase` → `camel_case` (policy names are ASCII identifiers).
    static func snakeCase(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase, !result.isEmpty, result.last != "_" { result.append("_") }
            result.append(character.lowercased())
        }
        return result
    }
}

/// A PostgreSQL identifier, quoted.
func quoted(_ identifier: String) -> String {
    "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
