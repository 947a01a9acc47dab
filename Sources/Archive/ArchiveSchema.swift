import Foundation
import Replica

/// How the replicated tables look in the archive: schema `suifang`, one table per replicated
/// table, names in snake_case (`surveyResponse.templateId` → `survey_response.template_id`),
/// typed columns (`text`, `bigint`, `double precision`, `bytea`), and per row its hospital, the
/// origin and commit that last changed it, its newest write stamp and when it was archived.
///
/// Several hospitals share the tables, each in partitions of its own: every table (and the
/// high-water marks) is partitioned by hospital (`survey_response__h1` holds hospital 1's
/// responses). A hospital's central connects as its own role, which may read and write its
/// partitions and nothing else: PostgreSQL's privileges, not the central's good behaviour, keep
/// one hospital's central from touching another's rows. (`COPY` keeps working: row-level
/// security would forbid it.)
struct ArchiveSchema: Sendable {
    static let name = "suifang"
    /// Longest table name in the archive: a partition adds `__h` and a number within PostgreSQL's 63 bytes.
    static let maxTableName = 50
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
            if table.name.utf8.count > Self.maxTableName || names.contains(where: { $0.utf8.count > 63 }) {
                throw ArchiveError(.badSchema, "table '\(declaration.name)' has a name too long for PostgreSQL (tables \(Self.maxTableName) bytes, columns 63)")
            }
            tables.append(table)
        }
        self.tables = tables
    }

    /// The archive table of the replicated table `name`.
    func table(named name: String) -> ArchiveTable? { tables.first { $0.declaration.name == name } }

    /// The owner's own schema: no other role has USAGE on it, so none can name what is in it.
    static let adminName = "suifang_admin"
    /// The table setups lock to run one at a time. It holds nothing; it lives in the owner's own
    /// schema because naming a table (in `PREPARE`, or `CREATE RULE` queued behind another
    /// session) locks it before any privilege is checked.
    static let setupLockTable = "CREATE TABLE IF NOT EXISTS \(adminName)._archive_setup ()"

    /// Statements that create what is missing (tables, columns a later release added, the
    /// bookkeeping tables); safe to run again. Only the archive's owner runs them.
    var creation: [String] {
        var statements = [
            "CREATE SCHEMA IF NOT EXISTS \(Self.name)",
            """
            CREATE TABLE IF NOT EXISTS \(Self.name)._archive_hospital (
                hospital text PRIMARY KEY, id integer GENERATED ALWAYS AS IDENTITY UNIQUE, role text NOT NULL,
                cluster_key text, registered_at timestamptz NOT NULL DEFAULT now())
            """,
            """
            CREATE TABLE IF NOT EXISTS \(Self.name)._archive_mark (
                hospital text NOT NULL, origin text NOT NULL, seq bigint NOT NULL, archived_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (hospital, origin)) PARTITION BY LIST (hospital)
            """,
            // A hospital's role reads no registration: it claims its own through this function,
            // which binds the hospital to the first cluster that claims it and tells another
            // role or cluster only that the name is not theirs.
            """
            CREATE OR REPLACE FUNCTION \(Self.name).claim_hospital(wanted text, key text)
            RETURNS TABLE (claim_status text, claim_id integer, bound_key text)
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
            DECLARE
                found_role pg_catalog.text;
                found_id pg_catalog.int4;
                found_key pg_catalog.text;
            BEGIN
                -- Read without a lock, and only the caller's own row is ever updated: no role can
                -- hold another hospital's registration. pg_temp comes last and every type is
                -- qualified: a caller's temporary type or function is never used here.
                SELECT h.role, h.id INTO found_role, found_id FROM \(Self.name)._archive_hospital h WHERE h.hospital = wanted;
                IF found_role IS NULL THEN
                    RETURN QUERY SELECT 'absent'::pg_catalog.text, NULL::pg_catalog.int4, NULL::pg_catalog.text;
                ELSIF found_role OPERATOR(pg_catalog.<>) session_user THEN
                    RETURN QUERY SELECT 'other-role'::pg_catalog.text, NULL::pg_catalog.int4, NULL::pg_catalog.text;
                ELSE
                    UPDATE \(Self.name)._archive_hospital h SET cluster_key = key
                     WHERE h.hospital = wanted AND h.role = session_user AND h.cluster_key IS NULL;
                    SELECT h.cluster_key INTO found_key FROM \(Self.name)._archive_hospital h WHERE h.hospital = wanted;
                    RETURN QUERY SELECT 'ok'::pg_catalog.text, found_id, found_key;
                END IF;
            END $$
            """,
            "REVOKE ALL ON FUNCTION \(Self.name).claim_hospital(text, text) FROM PUBLIC",
        ]
        for table in tables {
            let columns =
                [("\(quoted(table.key)) text NOT NULL")] + table.columns.map { "\(quoted($0.name)) \($0.type)" }
                + ArchiveTable.metaColumns.map { "\($0.name) \($0.definition)" }
            statements.append(
                "CREATE TABLE IF NOT EXISTS \(table.qualified) (\(columns.joined(separator: ", ")), PRIMARY KEY (_hospital, \(quoted(table.key)))) PARTITION BY LIST (_hospital)")
        }
        return statements
    }

    /// Statements adding the columns a later release declares, given each table's columns now
    /// (`existing[table]`). Only missing ones: ALTER TABLE locks the parent and every partition
    /// (ACCESS EXCLUSIVE) even when the column is there, which any session reading them delays.
    func missingColumns(existing: [String: Set<String>]) -> [String] {
        tables.flatMap { table in
            table.columns.filter { !(existing[table.name]?.contains($0.name) ?? false) }.map {
                "ALTER TABLE \(table.qualified) ADD COLUMN IF NOT EXISTS \(quoted($0.name)) \($0.type)"
            }
        }
    }

    /// The partitions of `registration`'s hospital that `existing` (the schema's table names)
    /// lacks: each made as a plain table and attached, which locks its parent only against
    /// other schema changes (SHARE UPDATE EXCLUSIVE; `PARTITION OF` would take ACCESS EXCLUSIVE,
    /// which a hospital's session merely naming the parent delays).
    func partitions(of registration: ArchiveRegistration, existing: Set<String>) -> [String] {
        let value = literal(registration.hospital)
        return partitionNames(of: registration).filter { !existing.contains($0.partition) }.flatMap { parent, partition in
            let table = "\(Self.name).\(quoted(partition))", parentTable = "\(Self.name).\(quoted(parent))"
            return [
                "CREATE TABLE \(table) (LIKE \(parentTable) INCLUDING DEFAULTS INCLUDING CONSTRAINTS)",
                "ALTER TABLE \(parentTable) ATTACH PARTITION \(table) FOR VALUES IN (\(value))",
            ]
        }
    }

    /// The names of `registration`'s partitions: the marks' first, then one per table.
    func partitionNames(of registration: ArchiveRegistration) -> [(parent: String, partition: String)] {
        [("_archive_mark", registration.marks)] + tables.map { ($0.name, registration.partition(of: $0)) }
    }

    /// What `registration`'s role may do: claim its hospital (``ArchiveSession``), and read and
    /// write its hospital's partitions. Nothing else: no registration, no other hospital's rows, no
    /// parent table, no view, no schema change. (A release before this one let it read the
    /// registrations: that is taken back.)
    func grants(to registration: ArchiveRegistration) -> [String] {
        let role = quoted(registration.role)
        let partitions = partitionNames(of: registration).map { "\(Self.name).\(quoted($0.partition))" }
        return [
            "GRANT USAGE ON SCHEMA \(Self.name) TO \(role)",
            "REVOKE ALL ON \(Self.name)._archive_hospital FROM \(role)",
            "GRANT EXECUTE ON FUNCTION \(Self.name).claim_hospital(text, text) TO \(role)",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON \(partitions.joined(separator: ", ")) TO \(role)",
        ]
    }

    /// Takes back what ``grants(to:)`` gave (a hospital moved to another role): the role keeps
    /// nothing in the archive (a role writes one hospital, ``ArchiveSetup`` makes sure).
    func revocations(from registration: ArchiveRegistration) -> [String] {
        let role = quoted(registration.role)
        let partitions = partitionNames(of: registration).map { "\(Self.name).\(quoted($0.partition))" }
        return [
            "REVOKE ALL ON \(partitions.joined(separator: ", ")) FROM \(role)",
            "REVOKE ALL ON FUNCTION \(Self.name).claim_hospital(text, text) FROM \(role)",
            "REVOKE ALL ON \(Self.name)._archive_hospital FROM \(role)",
            "REVOKE ALL ON SCHEMA \(Self.name) FROM \(role)",
        ]
    }

    /// What a reporting role (BI tools, the group office) may read: the views and every hospital's tables.
    func readerGrants(to role: String) -> [String] {
        [
            "GRANT USAGE ON SCHEMA \(Self.name) TO \(quoted(role))",
            "GRANT SELECT ON ALL TABLES IN SCHEMA \(Self.name) TO \(quoted(role))",
        ]
    }
}

/// A hospital's place in the archive: its name, the role its central connects as, and the
/// number that names its partitions.
struct ArchiveRegistration: Sendable, Equatable {
    var hospital: String
    var role: String
    var id: Int

    /// The partition of `table` that holds this hospital's rows.
    func partition(of table: ArchiveTable) -> String { "\(table.name)__h\(id)" }
    /// The partition of the high-water marks.
    var marks: String { "_archive_mark__h\(id)" }
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

/// A PostgreSQL string literal (for DDL, which takes no parameters).
func literal(_ value: String) -> String {
    "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
}
