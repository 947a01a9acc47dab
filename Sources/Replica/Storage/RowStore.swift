import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Reads and writes replicated rows with their metadata, keeping tombstones and open
/// conflicts in step. Used by local writes and remote merges alike,
/// always inside one write transaction.
final class RowStore {
    let db: Database
    let gate: WriteGate
    private var insertStatements: [Int64: Statement] = [:]
    /// `insertRows`' statements by kind, table and row count.
    private var chunkStatements: [ChunkStatement: Statement] = [:]
    private var tombstoneProbe: Statement?
    /// Tables known to have tombstones (most have none: the probe is skipped), shared by the replica's transactions.
    private let buriedTables: TombstoneTables

    init(db: Database, gate: WriteGate, buriedTables: TombstoneTables) {
        self.db = db
        self.gate = gate
        self.buriedTables = buriedTables
    }

    func load(_ table: ReplicatedTable, key: String) throws -> RowState? {
        let statement = try db.cachedStatement(sql: table.selectSQL)
        guard let row = try Row.fetchOne(statement, arguments: [key]) else { return nil }
        let count = table.policies.count
        var values: [DatabaseValue] = []
        values.reserveCapacity(count)
        for index in 0..<count {
            values.append(row[index])
        }
        guard let meta = row[count] as Data? else {
            throw ReplicaError(.corruptMetadata, "row '\(key)' of table '\(table.name)' has no sync metadata")
        }
        do throws(MalformedDataError) {
            return try RowMetaCodec.decode(Array(meta), values: values, policies: table.policies)
        } catch {
            throw ReplicaError(.corruptMetadata, "row '\(key)' of table '\(table.name)': \(error.reason)")
        }
    }

    func tombstone(_ table: ReplicatedTable, key: String) throws -> Stamp? {
        guard try buriedTables.mayHaveTombstones(table.id, db) else { return nil }
        let statement = try tombstoneProbe ?? db.cachedStatement(sql: "SELECT hlc, origin, seq FROM _sf_tombstone WHERE tbl = ? AND pk = ?")
        tombstoneProbe = statement
        guard let row = try Row.fetchOne(statement, arguments: [table.id, key]) else { return nil }
        return Stamp(hlc: HLC(databaseValue: row[0]), origin: NodeID(databaseValue: row[1]), seq: UInt64(row[2] as Int64))
    }

    /// Inserts a row that does not exist yet. Returns false (and writes nothing) when it exists.
    func insertIfAbsent(_ table: ReplicatedTable, key: String, _ state: RowState) throws -> Bool {
        guard try insertRaw(table, key: key, values: state.values, meta: RowMetaCodec.encode(state)) else { return false }
        try updateConflicts(table, key: key, state)
        return true
    }

    /// Whether a table may have tombstones (false: no probe needed).
    func mayHaveTombstones(_ table: ReplicatedTable) throws -> Bool {
        try buriedTables.mayHaveTombstones(table.id, db)
    }

    /// Inserts rows (distinct keys), skipping rows that exist, and records the open conflicts of
    /// those it inserted. One statement looks up which keys exist, one inserts
    /// the others (two statements per chunk: a statement per row costs SQLite a statement
    /// journal and a trigger frame each, and `RETURNING` buffers and copies every row).
    /// - Returns: the keys it inserted, or nil when it inserted every row (the common case: no
    ///   set of keys to build and probe). Keys are told apart byte for byte, as SQLite does.
    func insertRows<Row: WholeRow>(_ table: ReplicatedTable, _ rows: [Row]) throws -> Set<ExactText>? {
        guard !rows.isEmpty else { return nil }
        var existing: Set<ExactText> = []
        let probe = try chunkStatement(.probe, table, count: rows.count)
        try probe.runBinding(rows.map(\.key.databaseValue)) { row in
            guard let text = sqlite3_column_text(row, 0) else { return }
            existing.insert(ExactText(String(decoding: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(row, 0))), as: UTF8.self)))
        }
        let fresh = existing.isEmpty ? rows : rows.filter { !existing.contains(ExactText($0.key)) }
        guard !fresh.isEmpty else { return [] }
        var arguments: [DatabaseValue] = []
        arguments.reserveCapacity(fresh.count * (table.policies.count + 1))
        var metas: [[UInt8]] = []
        metas.reserveCapacity(fresh.count)
        for row in fresh {
            arguments.append(row.key.databaseValue)
            row.appendValues(to: &arguments)
            metas.append(row.encodedMeta)
        }
        let insert = try chunkStatement(.insert, table, count: fresh.count)
        try gate.open { try insert.runBinding(arguments, rowsOf: table.policies.count + 1, thenBlobs: metas) }
        // Inside the write transaction nothing else inserts: every key found absent was inserted.
        guard db.changesCount == fresh.count else {
            throw ReplicaError(.corruptMetadata, "table '\(table.name)': \(fresh.count - db.changesCount) rows found absent could not be inserted")
        }
        if !table.keepBothColumns.isEmpty {
            for row in fresh { try updateConflicts(table, key: row.key, row.state()) }
        }
        return existing.isEmpty ? nil : fresh.map(\.key).uniqueExactly()
    }

    /// The statement that looks up which of `count` keys of `table` exist, or inserts `count` rows
    /// (the SQL is long: built once per table and count).
    private func chunkStatement(_ kind: ChunkStatement.Kind, _ table: ReplicatedTable, count: Int) throws -> Statement {
        let shape = ChunkStatement(kind: kind, table: table.id, count: count)
        if let statement = chunkStatements[shape] { return statement }
        let declaration = table.declaration
        let name = declaration.name.quotedDatabaseIdentifier, key = declaration.primaryKey.quotedDatabaseIdentifier
        let sql: String
        switch kind {
        case .probe:
            sql = "SELECT \(key) FROM \(name) WHERE \(key) IN (" + Array(repeating: "?", count: count).joined(separator: ",") + ")"
        case .insert:
            let tuple = "(" + Array(repeating: "?", count: table.policies.count + 2).joined(separator: ",") + ")"
            sql = "INSERT INTO \(name) (\(table.insertColumns)) VALUES " + Array(repeating: tuple, count: count).joined(separator: ",")
        }
        let statement = try db.cachedStatement(sql: sql)
        chunkStatements[shape] = statement
        return statement
    }

    private struct ChunkStatement: Hashable {
        enum Kind { case probe, insert }
        var kind: Kind
        var table: Int64
        var count: Int
    }

    private func insertRaw(_ table: ReplicatedTable, key: String, values: [DatabaseValue], meta: [UInt8]) throws -> Bool {
        let statement = try insertStatements[table.id] ?? db.cachedStatement(sql: table.insertSQL)
        insertStatements[table.id] = statement
        var arguments: [DatabaseValue] = [key.databaseValue]
        arguments.reserveCapacity(values.count + 2)
        arguments.append(contentsOf: values)
        arguments.append(Data(meta).databaseValue)
        try gate.open { try statement.runBinding(arguments) }
        return db.changesCount > 0
    }

    /// Replaces a stored row's state.
    func replace(_ table: ReplicatedTable, key: String, old: RowState, new: RowState) throws {
        let statement = try db.cachedStatement(sql: table.updateSQL)
        var arguments = new.values
        arguments.append(Data(RowMetaCodec.encode(new)).databaseValue)
        arguments.append(key.databaseValue)
        try gate.open { try statement.runBinding(arguments) }
        try updateConflicts(table, key: key, new)
    }

    /// Deletes a row (if stored) and records or merges its tombstone. The earliest tombstone stamp is kept.
    func bury(_ table: ReplicatedTable, key: String, stamp: Stamp, existing: RowState?) throws {
        if existing != nil {
            try gate.open { try db.cachedStatement(sql: table.deleteSQL).execute(arguments: [key]) }
            if !table.keepBothColumns.isEmpty {
                try db.execute(sql: "DELETE FROM _sf_conflict WHERE tbl = ? AND pk = ?", arguments: [table.name, key])
            }
        }
        if let previous = try tombstone(table, key: key), !stamp.precedes(previous) { return }
        buriedTables.markBuried(table.id)
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO _sf_tombstone (tbl, pk, hlc, origin, seq) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [table.id, key, stamp.hlc.databaseValue, stamp.origin.databaseValue, Int64(stamp.seq)])
    }

    /// Records or clears the open conflicts of a row's keep-both columns.
    private func updateConflicts(_ table: ReplicatedTable, key: String, _ state: RowState) throws {
        for index in table.keepBothColumns {
            guard case .multiValue(let register) = state.columns[index].meta else { continue }
            let column = table.declaration.columns[index].name
            if register.siblings.count > 1 {
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO _sf_conflict (tbl, pk, col) VALUES (?, ?, ?)")
                    .execute(arguments: [table.name, key, column])
            } else {
                try db.cachedStatement(sql: "DELETE FROM _sf_conflict WHERE tbl = ? AND pk = ? AND col = ?")
                    .execute(arguments: [table.name, key, column])
            }
        }
    }
}

/// A row inserted whole by ``RowStore/insertRows(_:_:)``.
protocol WholeRow {
    /// Its primary key.
    var key: String { get }
    /// Appends its declared columns' values, in order.
    func appendValues(to values: inout [DatabaseValue])
    /// Its metadata, as ``RowMetaCodec/encode(_:)`` writes it for ``state()``.
    var encodedMeta: [UInt8] { get }
    /// Its merge state (read for tables with keep-both columns, whose open conflicts are recorded).
    func state() -> RowState
}

/// A row with its whole merge state (a feed row).
struct StatedRow: WholeRow {
    var key: String
    var rowState: RowState

    func appendValues(to values: inout [DatabaseValue]) {
        for column in rowState.columns { values.append(column.value) }
    }

    var encodedMeta: [UInt8] { RowMetaCodec.encode(rowState) }

    func state() -> RowState { rowState }
}

/// Which tables have rows in a side table (tombstones, orphans), learned once per table and kept
/// for the replica's life. A table is marked before its first such row commits; a rolled-back
/// mark only costs probes.
final class TombstoneTables: Sendable {
    private let known = Mutex<[Int64: Bool]>([:])
    private let sideTable: String

    /// Tracks `_sf_tombstone` (the default) or another side table keyed by `tbl`.
    init(sideTable: String = "_sf_tombstone") {
        self.sideTable = sideTable
    }

    func mayHaveTombstones(_ table: Int64, _ db: Database) throws -> Bool {
        if let answer = known.withLock({ $0[table] }) { return answer }
        let answer = try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM \(sideTable) WHERE tbl = ?)"), arguments: [table]) ?? true
        known.withLock { $0[table] = $0[table] ?? answer }
        return answer
    }

    func markBuried(_ table: Int64) {
        known.withLock { $0[table] = true }
    }
}
