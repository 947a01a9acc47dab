import GRDB
import GRDBSQLite

/// SQLite's own consistency check of a replica's file.
public enum ReplicaIntegrity {
    /// Runs `PRAGMA integrity_check` (or the faster `quick_check`) on `db`, a read-only
    /// connection, and returns SQLite's answer: `"ok"` when the file is sound.
    ///
    /// SQLite's check evaluates every row's `CHECK` constraints, and the write guard's (see
    /// ``WriteGate``) answers "refused" outside the replica's own writes, or cannot be evaluated
    /// at all on a connection without the guard's function. They are set aside for the check
    /// (`PRAGMA ignore_check_constraints`) and put back after; the guard has no rows to vouch
    /// for. A connection that can write is refused: with its `CHECK`s set aside it could write
    /// around the guard if putting them back failed (on a read-only one that does no harm).
    public static func check(_ db: Database, quick: Bool = false) throws -> String {
        let readOnly = try sqlite3_db_readonly(db.sqliteConnection, "main") == 1 || (Bool.fetchOne(db, sql: "PRAGMA query_only") ?? false)
        guard readOnly else {
            throw ReplicaError(.unsupportedSetting, "SQLite's integrity check of a replica runs on a read-only connection (it sets the write guard aside)")
        }
        try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
        defer { try? db.execute(sql: "PRAGMA ignore_check_constraints = OFF") }
        return try String.fetchAll(db, sql: quick ? "PRAGMA quick_check" : "PRAGMA integrity_check").joined(separator: "\n")
    }
}
