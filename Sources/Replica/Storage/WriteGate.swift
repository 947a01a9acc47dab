import GRDB
import Synchronization

/// Opens replicated tables to writes only while the replica itself executes a statement.
///
/// The gate watches the writer connection's transactions (GRDB asks it, before each statement,
/// which tables the statement writes): a statement that inserts into, updates or deletes from a
/// replicated table while the gate is shut marks its transaction, and that transaction is refused
/// at commit, whole, with nothing of it kept. So a write made around the replica's API — by app
/// code, through ``Replica/writer``, or by a caller holding the `Database` inside a replica
/// transaction — never reaches the file, and the guard costs nothing per row. (Guard triggers did
/// this before: every merged row then copied its values into the trigger's frame and ran a
/// sub-program, an eighth of a merge's time.)
///
/// What it does not see: statements stepped through the C API on the writer's handle (the
/// replica's own merges do that, inside ``open(_:)``) and other connections to the file, which a
/// node's key keeps out (the file is encrypted; an unencrypted replica is for tests).
final class WriteGate: TransactionObserver, Sendable {
    private struct State {
        var isOpen = false
        /// The guarded tables, lowercased (SQLite's table names ignore ASCII case).
        var tables: Set<String> = []
        /// The first replicated table the current transaction wrote around the API.
        var writtenAround: String?
    }

    private let state = Mutex(State())

    /// Guards `tables` (the replicated tables), from now on.
    func guardTables(_ tables: some Sequence<String>) {
        let names = Set(tables.map { $0.lowercased() })
        state.withLock { $0.tables = names }
    }

    /// Runs `body` with the replicated tables open to its statements.
    func open<T>(_ body: () throws -> T) rethrows -> T {
        state.withLock { $0.isOpen = true }
        defer { state.withLock { $0.isOpen = false } }
        return try body()
    }

    // MARK: TransactionObserver

    /// Called before each statement GRDB executes on the writer, once per kind of write it makes:
    /// marks the transaction when the write is to a replicated table and the gate is shut. It asks
    /// for no row-by-row events.
    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        let table = eventKind.tableName
        state.withLock { state in
            if !state.isOpen, state.writtenAround == nil, state.tables.contains(table.lowercased()) { state.writtenAround = table }
        }
        return false
    }

    func databaseDidChange(with event: DatabaseEvent) {}

    /// Refuses a transaction that wrote a replicated table around the API (SQLite rolls it back).
    func databaseWillCommit() throws {
        let table = state.withLock { state in
            defer { state.writtenAround = nil }
            return state.writtenAround
        }
        if let table {
            throw DatabaseError(resultCode: .SQLITE_CONSTRAINT, message: "replicated table '\(table)': write through the Replica API")
        }
    }

    func databaseDidCommit(_ db: Database) {
        state.withLock { $0.writtenAround = nil }
    }

    func databaseDidRollback(_ db: Database) {
        state.withLock { $0.writtenAround = nil }
    }
}
