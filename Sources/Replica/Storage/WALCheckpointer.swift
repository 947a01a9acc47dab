import Dispatch
import GRDB
import GRDBSQLite
import Synchronization

/// Checkpoints a file replica's write-ahead log off the writer: once commits added ``triggerPages``
/// frames to the log since the last copy, a connection of the checkpointer's own copies the log's pages into the database
/// file on a utility queue while the writer goes on. SQLite's automatic checkpoint runs inside the
/// commit that crosses its threshold: in a large initial sync, a fifth of the writer's time.
///
/// - The log stays bounded when checkpoints fall behind (a long reader holds them back, or the
///   disk is slow): past ``writerPages`` the writer's own commit checkpoints, as SQLite's automatic
///   checkpoint would. A checkpoint is `PASSIVE` either way: it never waits for readers or the writer.
/// - Lifetime: the checkpointer's connection is opened with the replica's pool, on a file that
///   exists, and closed by ``close()``, which the replica calls when it goes: a checkpoint still
///   queued then finds no connection and does nothing; one running is interrupted and waited for. So the
///   checkpointer never opens the file again, never creates it, and never outlives the replica's
///   own connections on a file that a restore or rekey renames over.
/// - The writer connection's log hook holds a ``Signal``, a few bytes retained by the connection
///   for its whole life (whatever the order in which the replica and its pool go), which reaches the
///   checkpointer through a weak reference: after ``close()`` a late commit checkpoints nothing.
final class WALCheckpointer: Sendable {
    /// Log pages after which a checkpoint is started (SQLite's automatic default).
    static let triggerPages: Int32 = 1_000
    /// Log pages after which the writer checkpoints itself (64 MiB of 4 KiB pages).
    static let writerPages: Int32 = 16_000
    /// What SQLite truncates the log file to when a checkpoint has let it start over.
    static let logSizeLimitBytes = 16 << 20

    /// What the writer connection's log hook holds: created before the pool opens, since the hook
    /// is installed as the writer connection opens, and attached to the checkpointer once the file
    /// exists.
    final class Signal: Sendable {
        fileprivate let checkpointer = Mutex(Weak())

        fileprivate struct Weak: @unchecked Sendable {
            weak var value: WALCheckpointer?
        }

        init() {}

        /// Replaces SQLite's automatic checkpoint on the writer connection `db` with the
        /// checkpointer this signal is attached to (none yet: SQLite's automatic checkpoint is
        /// simply off until then), and bounds the log file's size once a checkpoint lets it start over.
        func install(on db: Database) throws {
            try db.execute(sql: "PRAGMA journal_size_limit = \(WALCheckpointer.logSizeLimitBytes)")
            // Retained once for the connection's life, never released: the connection may outlive
            // the replica (see WALCheckpointer's comment).
            sqlite3_wal_hook(db.sqliteConnection, walHook, Unmanaged.passRetained(self).toOpaque())
        }
    }

    private struct State: @unchecked Sendable {
        /// The checkpointer's own connection; `nil` once closed.
        var connection: OpaquePointer?
        /// Whether a checkpoint is queued and not started yet.
        var scheduled = false
        /// The log's frames the last checkpoint left copied into the file.
        var copiedFrames: Int32 = 0
    }

    private let state: Mutex<State>
    /// Runs the checkpoints, one at a time.
    private let queue = DispatchQueue(label: "suifang.replica.checkpoint", qos: .utility)

    /// A checkpointer for `file`, which must exist (the replica's pool has opened it: the
    /// connection is opened without `SQLITE_OPEN_CREATE`), reached by the writer's commits through
    /// `signal`. The connection reads the file's header once, which opens the log, and never its
    /// schema (a parsed schema is MiBs per connection; a checkpoint needs none). With
    /// `synchronous=FULL` (any level but OFF would do), a checkpoint syncs the log before copying
    /// it and the file before recording its progress.
    init(file: ReplicaFile, signal: Signal) throws {
        var connection: OpaquePointer?
        var result = sqlite3_open_v2(file.openingPath, &connection, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, nil)
        if result == SQLITE_OK {
            sqlite3_busy_timeout(connection, 10_000)
            result = sqlite3_exec(connection, "PRAGMA synchronous = FULL; PRAGMA schema_version", nil, nil, nil)
        }
        guard result == SQLITE_OK else {
            let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(connection)
            throw ReplicaError(.unsupportedSetting, "the replica's checkpointer could not open its file: \(message) (code \(result))")
        }
        state = Mutex(State(connection: connection))
        signal.checkpointer.withLock { $0.value = self }
    }

    deinit {
        // No checkpoint runs: one running holds the checkpointer. (Not `close()`: the last
        // reference may go on `queue`, at the end of a checkpoint.)
        state.withLock { state in sqlite3_close_v2(state.connection) }
    }

    /// Closes the checkpointer's connection, after the checkpoint running (if any) stops: it is
    /// interrupted (a copy stops between two pages, and what it copied stays valid).
    func close() {
        state.withLock { state in
            if let connection = state.connection { sqlite3_interrupt(connection) }
        }
        queue.sync {
            state.withLock { state in
                sqlite3_close_v2(state.connection)
                state.connection = nil
            }
        }
    }

    /// After a commit on the writer connection left `pages` frames in the log: a checkpoint is
    /// queued once ``triggerPages`` frames were added since the last one copied the log (the hook's
    /// count includes frames already copied, and the log starts over only when a write begins with
    /// everything copied).
    fileprivate func committed(pages: Int32) {
        let start = state.withLock { state in
            let copied = pages < state.copiedFrames ? 0 : state.copiedFrames
            guard state.connection != nil, !state.scheduled, pages - copied >= Self.triggerPages else { return false }
            state.scheduled = true
            return true
        }
        guard start else { return }
        queue.async { [weak self] in self?.checkpoint() }
    }

    /// Runs on `queue`, as ``close()`` does: the connection cannot close under it.
    private func checkpoint() {
        let connection = state.withLock { state in
            state.scheduled = false
            return state.connection
        }
        guard let connection else { return }
        var logFrames: Int32 = 0
        var copiedFrames: Int32 = 0
        // A failed checkpoint leaves the log as it was: the next commit past the trigger tries again.
        guard sqlite3_wal_checkpoint_v2(connection, "main", SQLITE_CHECKPOINT_PASSIVE, &logFrames, &copiedFrames) == SQLITE_OK else { return }
        state.withLock { $0.copiedFrames = copiedFrames }
    }
}

/// The writer connection's log hook. The writer's own bound comes first, so that it holds whether
/// or not a checkpointer is attached (the pool may outlive the replica through ``Replica/reader``).
private func walHook(_ context: UnsafeMutableRawPointer?, _ connection: OpaquePointer?, _ database: UnsafePointer<CChar>?, _ pages: Int32) -> Int32 {
    if pages >= WALCheckpointer.writerPages {
        sqlite3_wal_checkpoint_v2(connection, database, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        return SQLITE_OK
    }
    guard let context else { return SQLITE_OK }
    let signal = Unmanaged<WALCheckpointer.Signal>.fromOpaque(context).takeUnretainedValue()
    signal.checkpointer.withLock { $0.value }?.committed(pages: pages)
    return SQLITE_OK
}
