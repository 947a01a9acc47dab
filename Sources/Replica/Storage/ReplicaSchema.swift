import Foundation
import GRDB

/// Creates and migrates the replica's metadata tables and the declared tables.
///
/// Metadata tables (all prefixed `_sf_`, none replicated as rows):
/// - `_sf_node`: this replica's node id (one row).
/// - `_sf_version`: the version vector, one row per origin, and this node's last clock reading.
/// - `_sf_table`: local ids of declared tables.
/// - `_sf_commit`, `_sf_commit_pack`, `_sf_commit_origin`: every commit of every origin this replica
///   holds, as its origin made it, with its chain hash (see `CommitChain`): what peers are sent, and
///   what makes each write attributable. The newest loose, older ones packed and compressed, keyed
///   by origin band and number (see `CommitStore`).
/// - `_sf_head`: origins' signatures of their chain heads, kept so that relays can forward them.
/// - `_sf_origin`: the credential (certificate) each origin's commits came with.
/// - `_sf_quarantine`: origins whose commit broke a declared rule; their later commits are held.
/// - `_sf_orphan`: changes to rows whose first write has not arrived yet, merged in when it does.
/// - `_sf_tombstone`: deleted rows, forever (a deleted row never comes back).
/// - `_sf_conflict`: open keep-both conflicts.
/// - `_sf_lost_write`, `_sf_rejection`, `_sf_clock_skew`: local reports for people.
/// - `_sf_unread`, `_sf_remerge`, `_sf_feed_schema`: what a node on an older release read past
///   (see `SharedSchema`), and what it merges again once upgraded.
enum ReplicaSchema {
    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-replica-metadata") { db in
            try db.execute(
                sql: """
                    CREATE TABLE _sf_node (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        nodeId INTEGER NOT NULL);
                    CREATE TABLE _sf_version (
                        origin INTEGER PRIMARY KEY,
                        seq INTEGER NOT NULL,
                        hlc INTEGER NOT NULL DEFAULT 0);
                    CREATE TABLE _sf_table (
                        id INTEGER PRIMARY KEY,
                        name TEXT NOT NULL UNIQUE);
                    CREATE TABLE _sf_log (
                        origin INTEGER NOT NULL,
                        seq INTEGER NOT NULL,
                        tbl INTEGER NOT NULL,
                        pk TEXT NOT NULL,
                        PRIMARY KEY (origin, seq, tbl, pk)) WITHOUT ROWID;
                    CREATE TABLE _sf_tombstone (
                        tbl INTEGER NOT NULL,
                        pk TEXT NOT NULL,
                        hlc INTEGER NOT NULL,
                        origin INTEGER NOT NULL,
                        seq INTEGER NOT NULL,
                        PRIMARY KEY (tbl, pk)) WITHOUT ROWID;
                    CREATE TABLE _sf_conflict (
                        tbl TEXT NOT NULL,
                        pk TEXT NOT NULL,
                        col TEXT NOT NULL,
                        PRIMARY KEY (tbl, pk, col)) WITHOUT ROWID;
                    CREATE TABLE _sf_lost_write (
                        id INTEGER PRIMARY KEY,
                        tbl TEXT NOT NULL,
                        pk TEXT NOT NULL,
                        col TEXT NOT NULL,
                        loser INTEGER NOT NULL,
                        winner INTEGER NOT NULL,
                        seenAt INTEGER NOT NULL,
                        UNIQUE (tbl, pk, col, loser));
                    CREATE TABLE _sf_rejection (
                        id INTEGER PRIMARY KEY,
                        tbl TEXT NOT NULL,
                        pk TEXT NOT NULL,
                        origin INTEGER NOT NULL,
                        reason TEXT NOT NULL,
                        seenAt INTEGER NOT NULL,
                        UNIQUE (tbl, pk, origin, reason));
                    CREATE TABLE _sf_clock_skew (
                        origin INTEGER PRIMARY KEY,
                        aheadMs INTEGER NOT NULL,
                        seenAt INTEGER NOT NULL);
                    """)
        }
        migrator.registerMigration("v2-signed-commit-chains") { db in
            // Rows written before chains existed have no commits to sync or vouch for them.
            let held = try Int.fetchOne(db, sql: "SELECT (SELECT COUNT(*) FROM _sf_log) + (SELECT COUNT(*) FROM _sf_version)") ?? 0
            guard held == 0 else {
                throw ReplicaError(
                    .schemaMismatch,
                    "this replica was written by a version without signed commit chains and cannot be upgraded in place: initialise the node again and let it sync from its peers")
            }
            try db.execute(
                sql: """
                    DROP TABLE _sf_log;
                    CREATE TABLE _sf_commit (
                        origin INTEGER NOT NULL,
                        seq INTEGER NOT NULL,
                        hash BLOB NOT NULL,
                        body BLOB NOT NULL,
                        PRIMARY KEY (origin, seq)) WITHOUT ROWID;
                    CREATE TABLE _sf_head (
                        origin INTEGER NOT NULL,
                        seq INTEGER NOT NULL,
                        signature BLOB NOT NULL,
                        PRIMARY KEY (origin, seq)) WITHOUT ROWID;
                    CREATE TABLE _sf_origin (
                        origin INTEGER PRIMARY KEY,
                        credential BLOB NOT NULL);
                    CREATE TABLE _sf_quarantine (
                        origin INTEGER PRIMARY KEY,
                        seq INTEGER NOT NULL,
                        tbl TEXT,
                        rule TEXT NOT NULL,
                        seenAt INTEGER NOT NULL);
                    CREATE TABLE _sf_orphan (
                        tbl INTEGER NOT NULL,
                        pk TEXT NOT NULL,
                        origin INTEGER NOT NULL,
                        seq INTEGER NOT NULL,
                        delta BLOB NOT NULL,
                        PRIMARY KEY (tbl, pk, origin, seq)) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v3-commit-packs") { db in
            // Commits move to rowid tables (a commit can be megabytes, and a WITHOUT ROWID table
            // copies whole rows into its interior pages) keyed by origin band and number.
            try db.execute(
                sql: """
                    CREATE TABLE _sf_commit_origin (
                        origin INTEGER PRIMARY KEY,
                        band INTEGER NOT NULL UNIQUE);
                    INSERT INTO _sf_commit_origin (origin, band)
                        SELECT origin, ROW_NUMBER() OVER (ORDER BY origin) FROM (SELECT DISTINCT origin FROM _sf_commit);
                    CREATE TABLE _sf_commit_loose (
                        id INTEGER PRIMARY KEY,
                        hash BLOB NOT NULL,
                        body BLOB NOT NULL);
                    INSERT INTO _sf_commit_loose (id, hash, body)
                        SELECT (o.band << 40) | c.seq, c.hash, c.body FROM _sf_commit c JOIN _sf_commit_origin o USING (origin);
                    DROP TABLE _sf_commit;
                    ALTER TABLE _sf_commit_loose RENAME TO _sf_commit;
                    CREATE TABLE _sf_commit_pack (
                        id INTEGER PRIMARY KEY,
                        firstSeq INTEGER NOT NULL,
                        hash BLOB NOT NULL,
                        bodies BLOB NOT NULL);
                    """)
        }
        migrator.registerMigration("v4-scoped-feed") { db in
            // A ward node's position in central's scoped feed: per origin, how far central's
            // commits are reflected in the rows it holds.
            try db.execute(sql: "CREATE TABLE _sf_feed (origin INTEGER PRIMARY KEY, seq INTEGER NOT NULL)")
            // Evictions central sent for patients this node had written about in commits central
            // had not echoed yet: carried out once it has (unless the patient came back meanwhile).
            try db.execute(sql: "CREATE TABLE _sf_evict (patient TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID")
        }
        migrator.registerMigration("v5-mixed-releases") { db in
            // Commits merged only in part: they change tables or columns a later release declares.
            try db.execute(sql: "CREATE TABLE _sf_unread (origin INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (origin, seq)) WITHOUT ROWID")
            // Tables (from the first new column) this release declares and the last one did not:
            // what the unread commits are merged again for.
            try db.execute(sql: "CREATE TABLE _sf_remerge (tbl TEXT PRIMARY KEY NOT NULL, fromColumn INTEGER NOT NULL) WITHOUT ROWID")
            // What a ward node and central declared alike when its feed cursor was built.
            try db.execute(sql: "CREATE TABLE _sf_feed_schema (id INTEGER PRIMARY KEY CHECK (id = 1), fingerprint TEXT NOT NULL)")
        }
        return migrator
    }

    /// Creates missing declared tables, adds newly declared columns, installs the
    /// guard triggers, and returns each table with its local id.
    static func prepareTables(_ policies: PolicySet, in db: Database) throws -> [String: ReplicatedTable] {
        var tables: [String: ReplicatedTable] = [:]
        for declaration in policies.tables {
            if try db.tableExists(declaration.name) {
                if let firstAdded = try migrate(declaration, in: db) { try recordGrowth(declaration.name, from: firstAdded, in: db) }
            } else {
                try db.execute(sql: ReplicatedTable.createSQL(declaration, replicated: true))
                try recordGrowth(declaration.name, from: 0, in: db)
            }
            try db.execute(sql: "INSERT OR IGNORE INTO _sf_table (name) VALUES (?)", arguments: [declaration.name])
            let id = try Int64.fetchOne(db, sql: "SELECT id FROM _sf_table WHERE name = ?", arguments: [declaration.name])!
            try installGuards(declaration.name, in: db)
            try indexScopeColumns(declaration, in: db)
            tables[declaration.name] = ReplicatedTable(declaration: declaration, id: id)
        }
        return tables
    }

    /// A ward node whose feed cursor was built by a release that kept no feed fingerprint synced
    /// only with a central of its own policy set (those releases required equal sets): its
    /// fingerprint is what its tables held then, recorded before they are migrated, so upgrading
    /// does not make every ward ask for its whole scope again.
    static func recordFeedSchemaOfEarlierRelease(in db: Database) throws {
        guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM _sf_feed)") == true,
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM _sf_feed_schema)") == false
        else { return }
        var columns: [String: Int] = [:]
        for name in try String.fetchAll(db, sql: "SELECT name FROM _sf_table") where try db.tableExists(name) {
            columns[name] = try db.columns(in: name).count - 2  // the key and _sf_meta
        }
        try db.execute(sql: "INSERT INTO _sf_feed_schema (id, fingerprint) VALUES (1, ?)", arguments: [SharedSchema.fingerprint(columns)])
    }

    /// Notes that a table is newly declared from column `from` (0: the whole table), when commits
    /// merged only in part may hold changes to it.
    private static func recordGrowth(_ table: String, from column: Int, in db: Database) throws {
        guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM _sf_unread)") == true else { return }
        try db.execute(
            sql: "INSERT INTO _sf_remerge (tbl, fromColumn) VALUES (?, ?) ON CONFLICT (tbl) DO UPDATE SET fromColumn = MIN(fromColumn, excluded.fromColumn)",
            arguments: [table, column])
    }

    /// Adds newly declared columns; returns the position of the first one added, if any.
    private static func migrate(_ declaration: TableDeclaration, in db: Database) throws -> Int? {
        let existing = try db.columns(in: declaration.name)
        var byName: [String: ColumnInfo] = [:]
        for column in existing { byName[column.name] = column }
        guard byName["_sf_meta"] != nil, byName[declaration.primaryKey] != nil else {
            throw ReplicaError(.schemaMismatch, "table '\(declaration.name)' exists but is not a replicated table with key '\(declaration.primaryKey)'")
        }
        let declared = Set(declaration.columns.map(\.name) + [declaration.primaryKey, "_sf_meta"])
        if let dropped = existing.first(where: { !declared.contains($0.name) }) {
            throw ReplicaError(.schemaMismatch, "column '\(dropped.name)' of table '\(declaration.name)' is no longer declared; columns can be added, never removed")
        }
        var firstAdded: Int?
        let heldBefore = declaration.columns.filter { byName[$0.name] != nil }.count
        for column in declaration.columns {
            if let info = byName[column.name] {
                guard info.type.uppercased() == column.type.rawValue.uppercased() else {
                    throw ReplicaError(
                        .schemaMismatch, "column '\(column.name)' of table '\(declaration.name)' is \(info.type) in the database but declared \(column.type.rawValue)")
                }
            } else {
                try db.execute(
                    sql: "ALTER TABLE \(declaration.name.quotedDatabaseIdentifier) ADD COLUMN \(column.name.quotedDatabaseIdentifier) \(column.type.rawValue.uppercased())")
                firstAdded = firstAdded ?? declaration.columnIndex(column.name)
            }
        }
        if firstAdded != nil { try limitUniformMetadata(declaration, toColumns: heldBefore, in: db) }
        return firstAdded
    }

    /// Rows stored in the uniform form before columns were added would read as having written the
    /// new columns too (NULL, at the row's stamp), where a node that declared them all along reads
    /// them unwritten, and a later write with an older stamp would lose on one and win on the other.
    /// Their metadata is written again with the new columns unwritten (the bytes a node that
    /// declared them all along holds for the same state).
    private static func limitUniformMetadata(_ declaration: TableDeclaration, toColumns count: Int, in db: Database) throws {
        let table = declaration.name.quotedDatabaseIdentifier, key = declaration.primaryKey.quotedDatabaseIdentifier
        let held = declaration.columns.prefix(count)
        let selected = ([declaration.primaryKey] + held.map(\.name)).map(\.quotedDatabaseIdentifier).joined(separator: ", ")
        let rows = try Row.fetchCursor(db, sql: "SELECT \(selected), _sf_meta FROM \(table) WHERE substr(_sf_meta, 1, 1) = X'01'")
        var updates: [(String, Data)] = []
        while let row = try rows.next() {
            let values = (0..<count).map { row[$0 + 1] as DatabaseValue }
            let state = try RowMetaCodec.decode(Array(row[count + 1] as Data), values: values, widenedTo: declaration.columns.map(\.policy))
            updates.append((row[0], Data(RowMetaCodec.encode(state))))
        }
        let update = try db.makeStatement(sql: "UPDATE \(table) SET _sf_meta = ? WHERE \(key) = ?")
        for (rowKey, meta) in updates { try update.execute(arguments: [meta, rowKey]) }
    }

    /// Indexes the columns scopes select by (`hold ward`, `hold patient`, the scope root's ward), so
    /// central finds a ward's or a patient's rows without scanning.
    private static func indexScopeColumns(_ declaration: TableDeclaration, in db: Database) throws {
        var columns: [String] = []
        switch declaration.hold {
        case .ward(let column), .patient(let column): if column != declaration.primaryKey { columns.append(column) }
        case .all, .author, nil: break
        }
        if let root = declaration.scopeRoot { columns.append(root.wardColumn) }
        for column in columns {
            let name = "_sf_scope_\(declaration.name)_\(column)".quotedDatabaseIdentifier
            try db.execute(sql: "CREATE INDEX IF NOT EXISTS \(name) ON \(declaration.name.quotedDatabaseIdentifier) (\(column.quotedDatabaseIdentifier))")
        }
    }

    /// Triggers that refuse updates and deletes of a replicated table made around the replica's
    /// API, and inserts too where the table predates the guard's `CHECK` (see ``WriteGate``).
    private static func installGuards(_ table: String, in db: Database) throws {
        let definition = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?", arguments: [table]) ?? ""
        let checksInserts = definition.contains(WriteGate.checkPrefix(table))
        for event in ["INSERT", "UPDATE", "DELETE"] {
            let name = "_sf_guard_\(table)_\(event.lowercased())".quotedDatabaseIdentifier
            try db.execute(sql: "DROP TRIGGER IF EXISTS \(name)")
            if event == "INSERT" && checksInserts { continue }
            try db.execute(
                sql: """
                    CREATE TRIGGER \(name) BEFORE \(event) ON \(table.quotedDatabaseIdentifier)
                    WHEN \(WriteGate.call(table)) = 0
                    BEGIN SELECT RAISE(ABORT, \(WriteGate.literal(WriteGate.refusal))); END
                    """)
        }
    }
}
