import Dispatch
import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Checkpoints a replica's write-ahead log off the writer: once a commit leaves the log past
/// ``triggerPages``, a connection of its own copies the log's pages into the database file on a
/// utility queue, while the writer goes on. SQLite's automatic checkpoint would run inside that
/// commit: a quarter of a large initial sync's time went to copying pages there.
///
/// The log stays bounded when the checkpoints fall behind (a long reader holds them back, or the
/// disk is slow): past ``writerPages`` the writer's own commit checkpoints, as SQLite's automatic
/// checkpoint does. A checkpoint is `PASSIVE` either way: it never waits for readers or the writer.
///
/// The writer connection's log hook holds a ``Signal`` (a few bytes that outlive the connection
/// whatever the order of deinitialisation), which reaches the checkpointer through a weak
/// reference: once the replica is gone, a late commit checkpoints nothing.
final class WALCheckpointer: Sendable {
    /// Log pages after which a checkpoint is started (SQLite's automatic default).
    static let triggerPages: Int32 = 1_000
    /// Log pages after which the writer checkpoints itself (64 MiB of 4 KiB pages).
    static let writerPages: Int32 = 16_000

    /// What the writer connection's log hook holds.
    final class Signal: Sendable {
        let checkpointer: Mutex<Weak>

        struct Weak: @unchecked Sendable {
            weak var value: WALCheckpointer?
        }

        init(_ checkpointer: WALCheckpointer) {
            self.checkpointer = Mutex(Weak(value: checkpointer))
        }
    }

    private struct Connection: @unchecked Sendable {
        var queue: DatabaseQueue?
    }

    private let file: ReplicaFile
    private let configuration: Configuration
    /// Whether a checkpoint is scheduled and not started yet.
    private let scheduled = Mutex(false)
    /// Opened on first use, used on `queue` only.
    private let connection = Mutex(Connection())
    private let queue = DispatchQueue(label: "suifang.replica.checkpoint", qos: .utility)
    /// Kept alive by every writer connection it is installed on (see the type's comment).
    private let signal = Mutex<Signal?>(nil)

    /// A checkpointer for `file`, whose own connection is opened with `configuration` on first use.
    init(file: ReplicaFile, configuration: Configuration) {
        self.file = file
        self.configuration = configuration
    }

    /// Replaces SQLite's automatic checkpoint on the writer connection `db` with this one.
    func install(on db: Database) {
        let signal = self.signal.withLock { signal in
            if let signal { return signal }
            let created = Signal(self)
            signal = created
            return created
        }
        // Retained once per connection, never released: the connection may outlive the replica.
        sqlite3_wal_hook(db.sqliteConnection, walHook, Unmanaged.passRetained(signal).toOpaque())
    }

    /// After a commit left `pages` in the log.
    fileprivate func committed(_ connection: OpaquePointer?, database: UnsafePointer<CChar>?, pages: Int32) {
        if pages >= Self.writerPages {
            sqlite3_wal_checkpoint_v2(connection, database, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            return
        }
        guard pages >= Self.triggerPages else { return }
        let start = scheduled.withLock { scheduled in
            defer { scheduled = true }
            return !scheduled
        }
        guard start else { return }
        queue.async { self.checkpoint() }
    }

    private func checkpoint() {
        scheduled.withLock { $0 = false }
        let database = connection.withLock { connection in
            if connection.queue == nil { connection.queue = try? file.queue(configuration) }
            return connection.queue
        }
        // A failed checkpoint leaves the log as it was: the next commit past the trigger tries again.
        _ = try? database?.writeWithoutTransaction { db in try db.checkpoint(.passive) }
    }
}

private func walHook(_ context: UnsafeMutableRawPointer?, _ connection: OpaquePointer?, _ database: UnsafePointer<CChar>?, _ pages: Int32) -> Int32 {
    guard let context else { return SQLITE_OK }
    let signal = Unmanaged<WALCheckpointer.Signal>.fromOpaque(context).takeUnretainedValue()
    signal.checkpointer.withLock { $0.value }?.committed(connection, database: database, pages: pages)
    return SQLITE_OK
}
