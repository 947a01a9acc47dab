import GRDB

/// SQLite's own consistency check of a replica's file.
public enum ReplicaIntegrity {
    /// Runs `PRAGMA integrity_check` (or the faster `quick_check`) on `db` and returns SQLite's
    /// answer: `"ok"` when the file is sound.
    ///
    /// SQLite's check evaluates every row's `CHECK` constraints, and the write guard's (see
    /// ``WriteGate``) answers "refused" outside the replica's own writes, or cannot be evaluated
    /// at all on a connection without the guard's function. They are left out of the check
    /// (`PRAGMA ignore_check_constraints`) and put back after; the guard has no rows to vouch for.
    public static func check(_ db: Database, quick: Bool = false) throws -> String {
        try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
        defer { try? db.execute(sql: "PRAGMA ignore_check_constraints = OFF") }
        let answers = try String.fetchAll(db, sql: quick ? "PRAGMA quick_check" : "PRAGMA integrity_check")
        return answers.joined(separator: "\n")
    }
}
