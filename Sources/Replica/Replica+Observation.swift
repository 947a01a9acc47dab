import GRDB
import Synchronization

/// Where a committed change came from.
public enum ChangeSource: Hashable, Sendable {
    /// Written on this node.
    case local
    /// Merged from another node.
    case remote
    /// Committed by another process on the same file (a CLI command beside the daemon); which rows
    /// changed is not known, so `rows` is empty. Seen by ``Replica/noticeOtherProcesses()``.
    case otherProcess
}

/// What one committed transaction changed, delivered after the commit.
public struct ReplicaEvent: Hashable, Sendable {
    /// Local write or remote merge.
    public var source: ChangeSource
    /// Changed row ids per table.
    public var rows: [String: Set<String>]
    /// First-writer-wins writes that lost in this merge.
    public var lostWrites: [LostWrite]
}

/// The subscribers to a replica's events.
final class ReplicaObservers: Sendable {
    private let continuations = Mutex<[Int: AsyncStream<ReplicaEvent>.Continuation]>([:])
    private let nextID = Mutex(0)

    func subscribe() -> AsyncStream<ReplicaEvent> {
        let id = nextID.withLock { value in
            value += 1
            return value
        }
        let (stream, continuation) = AsyncStream<ReplicaEvent>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        continuation.onTermination = { [weak self] _ in
            _ = self?.continuations.withLock { $0.removeValue(forKey: id) }
        }
        continuations.withLock { $0[id] = continuation }
        return stream
    }

    func emit(_ event: ReplicaEvent) {
        for continuation in continuations.withLock({ Array($0.values) }) {
            continuation.yield(event)
        }
    }
}

extension Replica {
    /// Events for every committed local write and remote merge, from now on.
    ///
    /// ```swift
    /// for await event in replica.events() where event.rows["complaint"] != nil { refreshBoard() }
    /// ```
    public func events() -> AsyncStream<ReplicaEvent> {
        observers.subscribe()
    }
}

extension Replica {
    /// Emits an ``ChangeSource/otherProcess`` event if another process has committed to this
    /// replica's file since the last call (SQLite's `PRAGMA data_version` on the writer connection,
    /// which changes only for other connections' commits). The daemon calls it periodically, so a
    /// CLI write — a revocation, a new user — is pushed to peers and enforced without waiting for the
    /// daemon's own next commit.
    /// - Returns: whether another process committed.
    @discardableResult
    public func noticeOtherProcesses() throws -> Bool {
        let version = try writer.writeWithoutTransaction { db in try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
        let changed = dataVersion.withLock { seen in
            defer { seen = version }
            return seen.map { $0 != version } ?? false
        }
        if changed { observers.emit(ReplicaEvent(source: .otherProcess, rows: [:], lostWrites: [])) }
        return changed
    }
}
