import Foundation
import GRDB
import GRDBSQLite

extension Statement {
    /// Binds already-converted values straight to SQLite and runs the statement to its end,
    /// handing each result row to `row`; leaves the statement reset with its bindings cleared.
    ///
    /// The replica's hot writes (merging fresh rows, capturing a local insert) bind a dozen values
    /// per row: building GRDB's `StatementArguments` from `[DatabaseValue]` boxes each one and
    /// walks a generic path, about a quarter of a merge's CPU time (perf, `bench replica`). Only
    /// for statements the replica owns, inside its own transaction (GRDB's transaction
    /// bookkeeping rests on SQLite's hooks, which this path fires like any other); reads that
    /// look up rows one by one use it too, reading the columns straight from `row`'s statement.
    /// - Throws: `DatabaseError` with SQLite's code and message when a step fails.
    func runBinding(_ values: [DatabaseValue], row: (SQLiteStatement) -> Void = { _ in }) throws {
        let statement = sqliteStatement
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        sqlite3_reset(statement)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value.storage {
            case .null:
                code = sqlite3_bind_null(statement, index)
            case .int64(let integer):
                code = sqlite3_bind_int64(statement, index, integer)
            case .double(let real):
                code = sqlite3_bind_double(statement, index, real)
            case .string(let text):
                var text = text
                code = text.withUTF8 { utf8 in
                    guard let base = utf8.baseAddress else { return sqlite3_bind_text(statement, index, "", 0, Self.transient) }
                    return base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
                        sqlite3_bind_text(statement, index, $0, Int32(utf8.count), Self.transient)
                    }
                }
            case .blob(let data):
                code =
                    data.isEmpty
                    ? sqlite3_bind_zeroblob(statement, index, 0)
                    : data.withUnsafeBytes { bytes in sqlite3_bind_blob(statement, index, bytes.baseAddress, Int32(bytes.count), Self.transient) }
            }
            guard code == SQLITE_OK else { throw Self.failure(code, statement, sql) }
        }
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else { throw Self.failure(code, statement, sql) }
            row(statement)
        }
    }

    /// SQLite copies the bytes during the call (`SQLITE_TRANSIENT`).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private static func failure(_ code: Int32, _ statement: SQLiteStatement, _ sql: String) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqlite3_db_handle(statement))), sql: sql)
    }
}
