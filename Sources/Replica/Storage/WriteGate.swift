import Foundation
import GRDB
import Synchronization

/// Opens replicated tables to writes only while the replica itself executes a statement.
///
/// The guard calls the SQL function `sf_replica_writing(table, …)`; it answers 1 only inside
/// ``open(_:)``. Any other write — from app code, a tool, or a caller holding the `Database`
/// inside a replica transaction — aborts. Connections that do not register the function (a
/// queue the node opens on the file for upkeep) cannot even prepare a write.
///
/// Inserts are guarded by a `CHECK` constraint in the table's definition (``checkClause(_:)``),
/// which SQLite evaluates in the statement itself; updates and deletes by `BEFORE` triggers
/// (SQLite evaluates a `CHECK` on update only when it names an updated column, and never on
/// delete). A trigger runs a sub-program per row: on the initial sync's million inserts that
/// was a tenth of the writer's time, which the inline `CHECK` mostly saves (BENCHMARKS.md,
/// twenty-sixth session).
final class WriteGate: Sendable {
    static let functionName = "sf_replica_writing"
    /// What a refused write's error says (the `CHECK` constraint's name and the triggers' message).
    static let refusal = "replicated table: write through the Replica API"
    private let isOpen = Mutex(false)

    var function: DatabaseFunction {
        // Any number of arguments: the triggers of earlier releases call it with none, and
        // run when a file of theirs is opened and its tables grow, before they are replaced.
        DatabaseFunction(Self.functionName, argumentCount: nil, pure: false) { [self] _ in
            isOpen.withLock { $0 } ? 1 : 0
        }
    }

    func open<T>(_ body: () throws -> T) rethrows -> T {
        isOpen.withLock { $0 = true }
        defer { isOpen.withLock { $0 = false } }
        return try body()
    }

    /// The guard's call in `table`'s triggers.
    static func call(_ table: String) -> String {
        "\(functionName)(\(literal(table)))"
    }

    /// The constraint a replicated table is created with. The table's name and a random salt
    /// drawn when it is created make each table's `CHECK` its own: SQLite's transfer
    /// optimisation (`INSERT INTO a SELECT * FROM b`) skips `CHECK`s only where the source's are
    /// equal to the destination's, so rows are never copied unchecked from another replicated
    /// table of the same shape, in this file or in another replica's attached to it.
    static func checkClause(_ table: String, salt: String = newSalt()) -> String {
        checkPrefix(table) + "\(salt)'))"
    }

    /// What every guard `CHECK` of `table` starts with, whatever its salt.
    static func checkPrefix(_ table: String) -> String {
        "CONSTRAINT \(refusal.quotedDatabaseIdentifier) CHECK (\(functionName)(\(literal(table)), '"
    }

    /// 128 random bits in hexadecimal.
    static func newSalt() -> String {
        String(format: "%016llx%016llx", UInt64.random(in: .min ... .max), UInt64.random(in: .min ... .max))
    }

    /// `text` as an SQL string literal.
    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
