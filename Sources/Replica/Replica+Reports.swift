import GRDB

/// A keep-both column whose concurrent values wait for a person.
public struct OpenConflict: Hashable, Sendable {
    /// One of the concurrent values.
    public struct Candidate: Hashable, Sendable {
        /// The value (may be patient data: show it, never log it).
        public var value: DatabaseValue
        /// The node that wrote it.
        public var origin: NodeID
        /// When, by its clock.
        public var hlc: HLC
    }

    /// The table.
    public var table: String
    /// The row id.
    public var key: String
    /// The column.
    public var column: String
    /// The concurrent values, newest first.
    public var candidates: [Candidate]
}

/// A remote change refused by policy.
public struct Rejection: Hashable, Sendable {
    /// The table.
    public var table: String
    /// The row id.
    public var key: String
    /// The node whose change was refused.
    public var origin: NodeID
    /// Why.
    public var reason: String
}

/// Sizes of the replica's sync metadata.
public struct ReplicaStatistics: Hashable, Sendable {
    /// Live rows per table.
    public var rows: [String: Int]
    /// Change-log entries (one per live row per origin-commit it carries).
    public var logEntries: Int
    /// Deleted rows remembered.
    public var tombstones: Int
}

extension Replica {
    /// Open keep-both conflicts, in table, row and column order. Identical on replicas holding the same writes.
    public func openConflicts() throws -> [OpenConflict] {
        try writer.read { db in
            let store = RowStore(db: db, gate: gate, buriedTables: buriedTables)
            var conflicts: [OpenConflict] = []
            for row in try Row.fetchAll(db, sql: "SELECT tbl, pk, col FROM _sf_conflict ORDER BY tbl, pk, col") {
                guard let table = tables[row[0]], let index = table.declaration.columnIndex(row[2]),
                    let state = try store.load(table, key: row[1]),
                    case .multiValue(let register) = state.columns[index].meta
                else { continue }
                conflicts.append(
                    OpenConflict(
                        table: row[0], key: row[1], column: row[2],
                        candidates: register.siblings.map {
                            OpenConflict.Candidate(value: $0.value, origin: $0.stamp.origin, hlc: $0.stamp.hlc)
                        }))
            }
            return conflicts
        }
    }

    /// First-writer-wins writes this node saw lose (local reports, for notifying the losing writer).
    public func lostWrites() throws -> [LostWrite] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT tbl, pk, col, loser, winner FROM _sf_lost_write ORDER BY id").map {
                LostWrite(table: $0[0], key: $0[1], column: $0[2], loser: NodeID(databaseValue: $0[3]), winner: NodeID(databaseValue: $0[4]))
            }
        }
    }

    /// Remote changes this node refused by policy (local reports).
    public func rejections() throws -> [Rejection] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT tbl, pk, origin, reason FROM _sf_rejection ORDER BY id").map {
                Rejection(table: $0[0], key: $0[1], origin: NodeID(databaseValue: $0[2]), reason: $0[3])
            }
        }
    }

    /// Nodes whose clocks were seen further ahead than the skew bound, with the largest lead seen (ms).
    public func clockSkewReports() throws -> [ClockSkewReport] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT origin, aheadMs FROM _sf_clock_skew ORDER BY origin").map {
                ClockSkewReport(origin: NodeID(databaseValue: $0[0]), aheadMilliseconds: UInt64($0[1] as Int64))
            }
        }
    }

    /// Row, log and tombstone counts.
    public func statistics() throws -> ReplicaStatistics {
        try writer.read { db in
            var rows: [String: Int] = [:]
            for table in policies.tables {
                rows[table.name] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table.name.quotedDatabaseIdentifier)") ?? 0
            }
            return ReplicaStatistics(
                rows: rows,
                logEntries: try CommitStore(db: db).count(),
                tombstones: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM _sf_tombstone") ?? 0)
        }
    }

    /// A canonical dump of the replicated state (rows with metadata, tombstones, open conflicts,
    /// version vector), equal on two replicas exactly when they converged, byte for byte. For
    /// tests and the demo.
    public func canonicalDump() throws -> ReplicaDump {
        try writer.read { db in
            var lines: [String] = []
            for table in policies.tables {
                for row in try Row.fetchAll(db, sql: table.dumpSQL) {
                    lines.append("\(table.name) \(row.description)")
                }
            }
            for row in try Row.fetchAll(db, sql: "SELECT t.name, s.pk, s.hlc, s.origin, s.seq FROM _sf_tombstone s JOIN _sf_table t ON t.id = s.tbl ORDER BY t.name, s.pk") {
                lines.append("tombstone \(row.description)")
            }
            for row in try Row.fetchAll(db, sql: "SELECT * FROM _sf_conflict ORDER BY tbl, pk, col") {
                lines.append("conflict \(row.description)")
            }
            lines.append("vector \(try versionVector(db))")
            return ReplicaDump(lines.joined(separator: "\n"))
        }
    }
}

/// What a replica file holds, read through a read-only connection: for tools that look at a node
/// another process is running (testnets, the demo) without disturbing it.
public struct ReplicaFileSummary: Hashable, Sendable {
    /// Rows per replicated table.
    public var rows: [String: Int]
    /// The newest commit held of each origin (its sequence number).
    public var newestCommits: [NodeID: UInt64]
    /// A ward node on central's scoped feed: how far central's commits are reflected in its rows.
    public var feedCursor: [NodeID: UInt64] = [:]

    /// Rows in all replicated tables.
    public var totalRows: Int { rows.values.reduce(0, +) }
}

extension Replica {
    /// Reads what a replica file holds without opening it for writing.
    /// - Throws: a GRDB error when the file is not a replica (or not under this key).
    public static func summary(of file: ReplicaFile) throws -> ReplicaFileSummary {
        var configuration = Configuration()
        configuration.readonly = true
        return try file.queue(configuration).read { db in
            var rows: [String: Int] = [:]
            for table in try String.fetchAll(db, sql: "SELECT name FROM _sf_table") {
                rows[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table.quotedDatabaseIdentifier)") ?? 0
            }
            var feedCursor: [NodeID: UInt64] = [:]
            if try db.tableExists("_sf_feed") {
                for row in try Row.fetchAll(db, sql: "SELECT origin, seq FROM _sf_feed") {
                    feedCursor[NodeID(databaseValue: row[0])] = UInt64(row[1] as Int64)
                }
            }
            return ReplicaFileSummary(rows: rows, newestCommits: try CommitStore(db: db).newestSeqs(), feedCursor: feedCursor)
        }
    }
}

extension TableDeclaration {
    /// Every row of the table, key first, then the declared columns in declared order (a column
    /// added by a later release sits last in the file), then the metadata: what dumps compare.
    var dumpSQL: String {
        let columns = ([primaryKey] + columns.map(\.name) + ["_sf_meta"]).map(\.quotedDatabaseIdentifier).joined(separator: ", ")
        return "SELECT \(columns) FROM \(name.quotedDatabaseIdentifier) ORDER BY \(primaryKey.quotedDatabaseIdentifier)"
    }
}
