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
        try runBinding(values, rowsOf: values.count, thenBlobs: [], row: row)
    }

    /// Like ``runBinding(_:row:)`` for a statement that binds rows of `rowsOf` values each
    /// followed by one blob: `blobs[i]` is bound after the `i`-th run of values. The replica's
    /// row metadata is bound from its encoded bytes without becoming `Data` first (a copy per
    /// row, a tenth of a merge's time in `bench replica`).
    /// - Throws: ``ReplicaError`` `incompatibleBatch` when the values are not whole rows, one
    ///   per blob; `DatabaseError` when a step fails.
    func runBinding(_ values: [DatabaseValue], rowsOf valuesPerRow: Int, thenBlobs blobs: [[UInt8]], row: (SQLiteStatement) -> Void = { _ in }) throws {
        guard blobs.isEmpty || (valuesPerRow > 0 && values.count == valuesPerRow * blobs.count) else {
            throw ReplicaError(.incompatibleBatch, "rows of \(valuesPerRow) values and \(blobs.count) metadata blobs do not match \(values.count) values")
        }
        let statement = sqliteStatement
        // Texts and blobs are copied into one buffer that outlives the statement's run and bound
        // in place (`SQLITE_STATIC`): SQLite's own copy of each (`SQLITE_TRANSIENT`) is one
        // allocation per value, and a statement binding many rows' values at once runs past
        // malloc's per-size caches (a third of a merge's time in `bench replica`).
        var byteCount = blobs.reduce(0) { $0 + $1.count }
        for value in values {
            switch value.storage {
            case .string(let text): byteCount += text.utf8.count
            case .blob(let data): byteCount += data.count
            case .null, .int64, .double: break
            }
        }
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: max(byteCount, 1), alignment: 1)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
            arena.deallocate()
        }
        sqlite3_reset(statement)
        var used = 0
        var index: Int32 = 0
        for (offset, value) in values.enumerated() {
            index += 1
            let code: Int32
            switch value.storage {
            case .null:
                code = sqlite3_bind_null(statement, index)
            case .int64(let integer):
                code = sqlite3_bind_int64(statement, index, integer)
            case .double(let real):
                code = sqlite3_bind_double(statement, index, real)
            case .string(let text):
                code = bindInPlace(text, to: statement, at: index, arena: arena, used: &used)
            case .blob(let data):
                guard !data.isEmpty else {
                    code = sqlite3_bind_zeroblob(statement, index, 0)
                    break
                }
                let start = arena.baseAddress! + used
                data.copyBytes(to: UnsafeMutableRawBufferPointer(start: start, count: data.count))
                used += data.count
                code = sqlite3_bind_blob(statement, index, start, Int32(data.count), nil)
            }
            guard code == SQLITE_OK else { throw Self.failure(code, statement, sql) }
            if !blobs.isEmpty, (offset + 1) % valuesPerRow == 0 {
                index += 1
                let blob = blobs[offset / valuesPerRow]
                let bound: Int32
                if blob.isEmpty {
                    bound = sqlite3_bind_zeroblob(statement, index, 0)
                } else {
                    let start = arena.baseAddress! + used
                    blob.withUnsafeBytes { UnsafeMutableRawBufferPointer(start: start, count: blob.count).copyMemory(from: $0) }
                    used += blob.count
                    bound = sqlite3_bind_blob(statement, index, start, Int32(blob.count), nil)
                }
                guard bound == SQLITE_OK else { throw Self.failure(bound, statement, sql) }
            }
        }
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else { throw Self.failure(code, statement, sql) }
            row(statement)
        }
    }

    private static func failure(_ code: Int32, _ statement: SQLiteStatement, _ sql: String) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqlite3_db_handle(statement))), sql: sql)
    }
}

/// Copies `text`'s UTF-8 into `arena` at `used` (moving `used` past it) and binds it there in place
/// (`SQLITE_STATIC`): the arena must hold the bytes until the statement is reset or rebound.
/// - Returns: SQLite's result code.
func bindInPlace(_ text: String, to statement: SQLiteStatement, at index: Int32, arena: UnsafeMutableRawBufferPointer, used: inout Int) -> Int32 {
    var text = text
    let start = arena.baseAddress! + used
    let count = text.withUTF8 { utf8 in
        UnsafeMutableRawBufferPointer(start: start, count: utf8.count).copyMemory(from: UnsafeRawBufferPointer(utf8))
        return utf8.count
    }
    used += count
    return sqlite3_bind_text(statement, index, start.assumingMemoryBound(to: CChar.self), Int32(count), nil)
}
