import GRDB
import GRDBSQLite

/// Current rows of one table looked up by key, up to ``capacity`` keys per run of one statement,
/// handed out one at a time in the order the keys were given. Owns its statement's bindings and
/// the buffer they point into.
///
/// An archive page looks up thousands of rows by key. One statement run per row spent as much in
/// SQLite's per-run work (binding, halting, resetting) and in the call path around it as in the
/// lookup itself (perf, `bench archive`); a batch pays that once. Rows are stepped only when
/// asked for, so a page that reaches its byte budget inside a batch reads no row past it.
///
/// The keys are rows of a `VALUES` list joined to the table (`LEFT JOIN`, so a key with no row
/// still answers, with `NULL`s): SQLite runs the left side of a `LEFT JOIN` as the outer loop,
/// in the list's order. Each answer carries its place in the list and is checked against it;
/// should a later SQLite answer in another order, the rest of the batch is looked up key by key.
final class BatchedRowLookup {
    /// Keys per statement run.
    static let capacity = 64

    let table: ReplicatedTable
    private let statement: Statement
    /// The table's one-key lookup, for a batch SQLite answered out of order.
    private let single: Statement
    private let sql: String
    private var keys: [String] = []
    /// How many of `keys` were handed out.
    private var handedOut = 0
    /// Whether SQLite answered out of order: the batch's remaining keys go one by one.
    private var unordered = false
    /// The keys' bytes, bound in place (`SQLITE_STATIC`) until the next batch or `deinit`.
    private var arena = UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 1)

    init(_ db: Database, table: ReplicatedTable) throws {
        self.table = table
        let columns = (table.declaration.columns.map(\.name) + ["_sf_meta"]).map { "t.\($0.quotedDatabaseIdentifier)" }
        let list = (1...Self.capacity).map { "(\($0), ?)" }.joined(separator: ", ")
        sql = """
            WITH _sf_keys(i, key) AS (VALUES \(list)) \
            SELECT k.i, \(columns.joined(separator: ", ")) FROM _sf_keys AS k \
            LEFT JOIN main.\(table.name.quotedDatabaseIdentifier) AS t ON t.\(table.declaration.primaryKey.quotedDatabaseIdentifier) = k.key
            """
        statement = try db.cachedStatement(sql: sql)
        single = try db.cachedStatement(sql: table.selectSQL)
    }

    deinit {
        sqlite3_reset(statement.sqliteStatement)
        sqlite3_clear_bindings(statement.sqliteStatement)
        arena.deallocate()
    }

    /// Starts a batch of at most ``capacity`` keys; rows not taken from the batch before are dropped.
    func start(_ keys: [String]) throws {
        precondition(keys.count <= Self.capacity, "a batch holds at most \(Self.capacity) keys")
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        let byteCount = keys.reduce(0) { $0 + $1.utf8.count }
        if arena.count < byteCount {
            arena.deallocate()
            arena = UnsafeMutableRawBufferPointer.allocate(byteCount: byteCount, alignment: 1)
        }
        var used = 0
        for (offset, key) in keys.enumerated() {
            let code = bindInPlace(key, to: handle, at: Int32(offset + 1), arena: arena, used: &used)
            guard code == SQLITE_OK else { throw failure(code) }
        }
        self.keys = keys
        handedOut = 0
        unordered = false
    }

    /// The next key's row as it stands now (values nil when it is gone), with the newest stamp of
    /// its columns.
    func next() throws -> (values: [DatabaseValue]?, meta: [UInt8]) {
        precondition(handedOut < keys.count, "no key left in the batch")
        defer { handedOut += 1 }
        if unordered { return try lookAlone(keys[handedOut]) }
        let handle = statement.sqliteStatement
        let code = sqlite3_step(handle)
        guard code == SQLITE_ROW else {
            if code == SQLITE_DONE { return try outOfOrder() }
            throw failure(code)
        }
        guard sqlite3_column_int64(handle, 0) == Int64(handedOut + 1) else { return try outOfOrder() }
        // `_sf_meta` is NOT NULL: a NULL says the key has no row.
        guard sqlite3_column_type(handle, Int32(table.policies.count) + 1) != SQLITE_NULL else { return (nil, []) }
        let row = row(of: handle, from: 1)
        return (row.values, row.meta)
    }

    /// The table's values and metadata as `handle`'s current result row holds them, the values
    /// from column `first` on and the metadata after them.
    private func row(of handle: SQLiteStatement, from first: Int32) -> (values: [DatabaseValue], meta: [UInt8]) {
        let count = Int32(table.policies.count)
        let values = (0..<count).map { DatabaseValue(sqliteStatement: handle, index: first + $0) }
        let bytes = Int(sqlite3_column_bytes(handle, first + count))
        guard let blob = sqlite3_column_blob(handle, first + count), bytes > 0 else { return (values, []) }
        return (values, Array(UnsafeRawBufferPointer(start: blob, count: bytes)))
    }

    private func outOfOrder() throws -> (values: [DatabaseValue]?, meta: [UInt8]) {
        unordered = true
        sqlite3_reset(statement.sqliteStatement)
        return try lookAlone(keys[handedOut])
    }

    /// `key`'s row by the table's own one-key statement.
    private func lookAlone(_ key: String) throws -> (values: [DatabaseValue]?, meta: [UInt8]) {
        var found: (values: [DatabaseValue], meta: [UInt8])?
        try single.runBinding([key.databaseValue]) { found = row(of: $0, from: 0) }
        return (found?.values, found?.meta ?? [])
    }

    private func failure(_ code: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqlite3_db_handle(statement.sqliteStatement))), sql: sql)
    }
}
