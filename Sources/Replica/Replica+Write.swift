import GRDB
import Synchronization

extension Replica {
    /// Runs local writes in one transaction: one commit, one sequence number for this node.
    ///
    /// Every write is captured with its stamp in the same transaction as the data.
    /// If `body` throws, nothing of it is kept.
    /// - Throws: ``ReplicaError`` for refused writes, `DatabaseError` for SQLite failures.
    @discardableResult
    public func write<T>(_ body: (ReplicaTransaction) throws -> T) throws -> T {
        let (result, event) = try writer.write { db in try runTransaction(body, in: db) }
        if let event { observers.emit(event) }
        return result
    }

    private func runTransaction<T>(_ body: (ReplicaTransaction) throws -> T, in db: Database) throws -> (T, ReplicaEvent?) {
        let transaction = ReplicaTransaction(replica: self, db: db)
        let result = try body(transaction)
        return (result, try transaction.finish())
    }

    /// The asynchronous form of ``write(_:)``.
    @discardableResult
    public func write<T: Sendable>(_ body: @escaping @Sendable (ReplicaTransaction) throws -> T) async throws -> T {
        let (result, event) = try await writer.write { db in try self.runTransaction(body, in: db) }
        if let event { observers.emit(event) }
        return result
    }
}

extension Replica {
    /// Writes the application's local, non-replicated tables (sessions, peer status, an outbox…)
    /// in one transaction. Replicated tables stay closed to it: their guard triggers refuse.
    public func writeLocal<T>(_ body: (Database) throws -> T) throws -> T {
        try writer.write(body)
    }

    /// The asynchronous form of ``writeLocal(_:)``.
    public func writeLocal<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await writer.write(body)
    }

    /// Brings the application's local tables up to date: `migrator`'s named migrations that have
    /// not run on this file run now, each once, in order (GRDB's `DatabaseMigrator`). A migration
    /// that has shipped is never edited; a change is a new migration. Identifiers share GRDB's
    /// table with the replica's own migrations: prefix them (`crm-`, `node-`).
    public func migrateLocal(_ migrator: DatabaseMigrator) throws {
        try migrator.migrate(writer)
    }
}

/// Local writes inside ``Replica/write(_:)``. Each call validates first and
/// writes only when valid, so a refused call changes nothing.
public final class ReplicaTransaction {
    let replica: Replica
    /// The database, for reads in the same transaction. Writing replicated tables through it is refused.
    public let db: Database
    private let store: RowStore
    private var seq: UInt64?
    /// The chain hash of this node's commit before this one (read with the sequence number).
    private var previousHash: [UInt8] = CommitChain.genesis
    private var changed: [String: Set<String>] = [:]
    /// Rows this commit changed, in order, with their state after it (nil: deleted, see `tombstones`).
    private var order: [RowRef] = []
    private var latest: [RowRef: RowState] = [:]
    private var tombstones: [RowRef: Stamp] = [:]
    /// Rows this commit created.
    private var created: Set<RowRef> = []
    /// For rows of `owned-by` tables this ward node changes but did not create here: the commit
    /// whose owner-column write it saw before its first change (sent with the change).
    private var ownerSeen: [RowRef: CommitReference] = [:]

    init(replica: Replica, db: Database) {
        self.replica = replica
        self.db = db
        self.store = RowStore(db: db, gate: replica.gate, buriedTables: replica.buriedTables)
    }

    /// The newest commit of another origin that this replica holds with that origin's signature
    /// (0 for none), as of this transaction: the last point up to which it can relay the origin's
    /// commits (a run of another origin can only end at a head that origin signed).
    public func newestSignedCommit(of origin: NodeID) throws -> UInt64 {
        let seq = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM _sf_head WHERE origin = ?", arguments: [origin.databaseValue]) ?? 0
        return min(UInt64(max(0, seq)), try replica.versionVector(db)[origin])
    }

    /// Inserts a row and returns its id.
    /// - Parameters:
    ///   - table: a declared table.
    ///   - values: column values; missing columns are NULL. Add-wins set columns take ``SetCodec/encode(_:)``.
    ///   - id: the row id; when nil, a new ULID bound as this node must bind it (``Replica/boundID(_:table:ward:)``).
    /// - Throws: ``ReplicaError`` (`unknownColumn`, `invalidValue`, `duplicateKey`, `rowDeleted`).
    @discardableResult
    public func insert(into table: String, values: [String: (any DatabaseValueConvertible)?], id: String? = nil) throws -> String {
        let table = try replica.table(table)
        try replica.checkWriteAuthority(table)
        let values = try validated(values, for: table)
        let ownerIndex = table.declaration.ownerColumn.flatMap { table.columnIndexes[$0] }
        let ward = ownerIndex.flatMap { values[$0] }.flatMap(String.fromDatabaseValue)
        let key = id ?? replica.boundID(nil, table: table, ward: ward)
        try Self.checkKey(key, table)
        try replica.checkCreatedID(key, table, ward: ward)
        for (index, column) in table.declaration.columns.enumerated() where column.notNull && (values[index] ?? .null).isNull {
            throw ReplicaError(.invalidValue, "column '\(column.name)' of table '\(table.name)' is declared not null")
        }
        // A freshly generated id cannot name a deleted row; a caller-given one may.
        if id != nil, try store.tombstone(table, key: key) != nil {
            throw ReplicaError(.rowDeleted, "row '\(key)' of table '\(table.name)' was deleted; deleted rows never come back")
        }
        if let ownerIndex {
            try replica.checkOwnership(table, ward: values[ownerIndex], creating: true)
        }
        let stamp = try nextStamp(after: .zero)
        var columns: [ColumnState] = []
        for (index, column) in table.declaration.columns.enumerated() {
            let value = values[index] ?? .null
            columns.append(try LocalWrite.initial(column.policy, value: value, stamp: stamp, table: table.name, column: column.name))
        }
        let row = RowState(columns: columns)
        guard try store.insertIfAbsent(table, key: key, row) else {
            throw ReplicaError(.duplicateKey, "table '\(table.name)' already has a row '\(key)'")
        }
        created.insert(RowRef(table: table.name, key: key))
        record(table, key, row)
        // Another node's changes to a row of this key that arrived before any insert of it.
        if let adopted = try OrphanAdoption(replica: replica, db: db, store: store).adopt(table, key) {
            record(table, key, adopted)
        }
        return key
    }

    /// Updates columns of a row, each merged under its policy with what the row holds.
    ///
    /// For a keep-both column this also resolves an open conflict: the new value supersedes every value this node has seen.
    /// - Throws: ``ReplicaError`` (`rowNotFound`, `rowDeleted`, `immutableRow`, `lifecycleRegression`, `alreadyTaken`, …).
    public func update(_ table: String, id key: String, set values: [String: (any DatabaseValueConvertible)?]) throws {
        let table = try replica.table(table)
        try replica.checkWriteAuthority(table)
        guard !table.isAppendOnly else {
            throw ReplicaError(.immutableRow, "table '\(table.name)' is append-only: its rows cannot be updated")
        }
        let values = try validated(values, for: table)
        let existing = try loadLive(table, key)
        let touched = values.indices.filter { values[$0] != nil }
        guard !touched.isEmpty else { return }
        try noteOwner(table, key, existing)
        let newest = touched.map { LocalWrite.newestReading(existing.columns[$0]) }.max() ?? .zero
        let stamp = try nextStamp(after: newest)
        var updated = existing
        for index in touched {
            let column = table.declaration.columns[index]
            updated.columns[index] = try LocalWrite.update(
                column.policy, existing.columns[index], value: values[index]!,
                stamp: stamp, table: table.name, column: column.name)
        }
        try save(table, key, existing, updated)
    }

    /// Adds an element to an add-wins set column.
    public func addElement(_ element: String, to column: String, of table: String, id key: String) throws {
        try changeSet(column, of: table, id: key) { state, stamp in LocalWrite.add(element, to: state, stamp: stamp) }
    }

    /// Removes an element from an add-wins set column (a concurrent add of it elsewhere wins).
    public func removeElement(_ element: String, from column: String, of table: String, id key: String) throws {
        try changeSet(column, of: table, id: key) { state, stamp in LocalWrite.remove(element, from: state, stamp: stamp) }
    }

    /// Deletes a row. The tombstone is kept forever: no later or older update brings the row back.
    /// - Throws: ``ReplicaError`` (`rowNotFound`, `rowDeleted`, `immutableRow`).
    public func delete(from table: String, id key: String) throws {
        let table = try replica.table(table)
        try replica.checkWriteAuthority(table, deleting: true)
        guard !table.isAppendOnly else {
            throw ReplicaError(.immutableRow, "table '\(table.name)' is append-only: its rows cannot be deleted")
        }
        let existing = try loadLive(table, key)
        let stamp = try nextStamp(after: .zero)
        try store.bury(table, key: key, stamp: stamp, existing: existing)
        let ref = RowRef(table: table.name, key: key)
        if latest.removeValue(forKey: ref) == nil, tombstones[ref] == nil { order.append(ref) }
        tombstones[ref] = stamp
        changed[table.name, default: []].insert(key)
    }

    // MARK: - Internals

    private func changeSet(
        _ column: String, of tableName: String, id key: String,
        _ operation: (SetState, Stamp) -> SetState?
    ) throws {
        let table = try replica.table(tableName)
        try replica.checkWriteAuthority(table)
        guard let index = table.columnIndexes[column] else {
            throw ReplicaError(.unknownColumn, "table '\(table.name)' has no column '\(column)'")
        }
        guard table.policies[index] == .addWinsSet, !table.isAppendOnly else {
            throw ReplicaError(.wrongPolicy, "column '\(column)' of table '\(table.name)' is not an add-wins set")
        }
        let existing = try loadLive(table, key)
        try noteOwner(table, key, existing)
        guard case .set(let state) = existing.columns[index].meta else {
            throw ReplicaError(.corruptMetadata, "column '\(column)' of row '\(key)' has no set metadata")
        }
        let stamp = try nextStamp(after: LocalWrite.newestReading(existing.columns[index]))
        guard let next = operation(state, stamp) else { return }
        var updated = existing
        updated.columns[index] = ColumnMerge.setColumn(next)
        // A set travels whole: one that grew past the value bound could never be sent.
        try LocalWrite.check(updated.columns[index].value, fits: table.declaration.columns[index], table: table.name)
        try save(table, key, existing, updated)
    }

    /// A ward node changes a row of an `owned-by` table only while the row is in one of its wards
    /// (it may move it out, not in), and notes which write put it there: receivers judge the change
    /// against that write.
    private func noteOwner(_ table: ReplicatedTable, _ key: String, _ existing: RowState) throws {
        guard let owner = table.declaration.ownerColumn, let index = table.columnIndexes[owner] else { return }
        try replica.checkOwnership(table, ward: existing.columns[index].value, creating: false)
        let ref = RowRef(table: table.name, key: key)
        guard replica.authority.identity.role == .ward, !created.contains(ref), ownerSeen[ref] == nil,
            case .register(let stamp) = existing.columns[index].meta
        else { return }
        ownerSeen[ref] = CommitReference(origin: stamp.origin, seq: stamp.seq)
    }

    private func save(_ table: ReplicatedTable, _ key: String, _ existing: RowState, _ updated: RowState) throws {
        guard updated != existing else { return }
        try store.replace(table, key: key, old: existing, new: updated)
        record(table, key, updated)
    }

    private func record(_ table: ReplicatedTable, _ key: String, _ row: RowState) {
        let ref = RowRef(table: table.name, key: key)
        if latest.updateValue(row, forKey: ref) == nil { order.append(ref) }
        changed[table.name, default: []].insert(key)
    }

    private func loadLive(_ table: ReplicatedTable, _ key: String) throws -> RowState {
        if let row = try store.load(table, key: key) { return row }
        if try store.tombstone(table, key: key) != nil {
            throw ReplicaError(.rowDeleted, "row '\(key)' of table '\(table.name)' was deleted")
        }
        throw ReplicaError(.rowNotFound, "table '\(table.name)' has no row '\(key)'")
    }

    /// Values by column position; nil where the caller gave none.
    private func validated(_ values: [String: (any DatabaseValueConvertible)?], for table: ReplicatedTable) throws -> [DatabaseValue?] {
        var result = [DatabaseValue?](repeating: nil, count: table.policies.count)
        for (name, value) in values {
            guard let index = table.columnIndexes[name] else {
                if name == table.declaration.primaryKey {
                    throw ReplicaError(.invalidValue, "the id of a row in '\(table.name)' cannot be written as a column")
                }
                throw ReplicaError(.unknownColumn, "table '\(table.name)' has no column '\(name)'")
            }
            let column = table.declaration.columns[index]
            let databaseValue = value?.databaseValue ?? .null
            try LocalWrite.check(databaseValue, fits: column, table: table.name)
            result[index] = databaseValue
        }
        return result
    }

    static func checkKey(_ key: String, _ table: ReplicatedTable) throws {
        guard !key.isEmpty, key.utf8.count <= 128, !key.utf8.contains(where: { $0 == 10 || $0 == 13 || $0 == 0 }) else {
            throw ReplicaError(.invalidValue, "a row id of table '\(table.name)' must be 1 to 128 bytes on one line, without NUL")
        }
    }

    /// A stamp for one write in this commit, after `existing` so it supersedes what it overwrites.
    private func nextStamp(after existing: HLC) throws -> Stamp {
        if seq == nil {
            // Another process may have committed on this file since this replica last did (a CLI
            // command beside the daemon): the write transaction is IMMEDIATE, so the stored
            // number read here is current, and the two never hand out the same number. A commit
            // that fails rolls back, so the chain never has a gap.
            let head = try CommitStore(db: db, ownBand: replica.ownBand).head(replica.nodeID)
            seq = head.seq + 1
            previousHash = head.hash
        }
        let tick = replica.clock.withLock { $0.tick() }
        let hlc = Stamp.causallyAfter(existing, tick: tick)
        return Stamp(hlc: hlc, origin: replica.nodeID, seq: seq!)
    }

    /// Refuses a commit too large to sync, writes the commit into this node's chain (its body is
    /// what peers receive and what the chain hash covers) and returns the change notification to
    /// send once the transaction has committed.
    func finish() throws -> ReplicaEvent? {
        // A transaction that changed nothing is not a commit: its sequence number is reused.
        guard let seq, !changed.isEmpty else { return nil }
        // Rows as the commit carries them (`order`: byte-exact refs), not the changed-key sets of
        // the notification, which call canonically equivalent keys one.
        let rows = order.count
        guard rows <= replica.maximumRowsPerCommit else {
            throw ReplicaError(
                .commitTooLarge, "one commit may change at most \(replica.maximumRowsPerCommit) rows (peers take a commit whole, in one batch); this one changes \(rows): split it")
        }
        var deltas: [RowDelta] = []
        deltas.reserveCapacity(order.count)
        for ref in order {
            if let stamp = tombstones[ref] {
                deltas.append(RowDelta(table: ref.table, key: ref.key, body: .tombstone(stamp)))
            } else if let row = latest[ref] {
                let columns = ownColumns(of: row, seq: seq)
                if !columns.isEmpty {
                    let isInsert = created.contains(ref)
                    deltas.append(
                        RowDelta(
                            table: ref.table, key: ref.key, body: .columns(columns), isInsert: isInsert,
                            ownerSeen: isInsert ? nil : ownerSeen[ref]))
                }
            }
        }
        guard !deltas.isEmpty else { return nil }
        let body = CommitCodec.encode(deltas, tables: replica.tables)
        guard body.count <= Replica.maximumCommitBytes else {
            throw ReplicaError(
                .commitTooLarge, "one commit may hold at most \(Replica.maximumCommitBytes >> 20) MiB (peers take a commit whole); this one holds \(body.count >> 20) MiB: split it"
            )
        }
        try replica.appendLocalCommit(seq: seq, body: body, after: previousHash, in: db)
        return ReplicaEvent(source: .local, rows: changed, lostWrites: [])
    }

    /// The part of a row's state this commit wrote: only its own stamps and dots.
    private func ownColumns(of row: RowState, seq: UInt64) -> WrittenColumns {
        let me = replica.nodeID
        var columns = WrittenColumns(width: row.columns.count)
        for (index, column) in row.columns.enumerated() {
            switch column.meta {
            case .register(let stamp):
                if stamp.origin == me, stamp.seq == seq { columns[index] = column }
            case .multiValue(let state):
                let own = state.siblings.filter { $0.stamp.origin == me && $0.stamp.seq == seq }
                if !own.isEmpty {
                    columns[index] = ColumnMerge.multiValueColumn(MultiValueState(siblings: own, context: state.context))
                }
            case .set(let state):
                // The whole set (see CommitCodec): its causal context cannot describe a fragment.
                if let stamp = state.contributors[me], stamp.seq == seq { columns[index] = column }
            }
        }
        return columns
    }
}

/// A row of a table, by name. Two refs are the same row when their names and keys are the same
/// bytes (as SQLite compares keys): rows "X~W-K1" and "X~W-\u{212A}1" are two rows, though
/// Swift's `String` equality calls their keys equal.
struct RowRef: Hashable {
    var table: String
    var key: String

    static func == (lhs: RowRef, rhs: RowRef) -> Bool {
        lhs.key.isSameID(as: rhs.key) && lhs.table.isSameID(as: rhs.table)
    }

    func hash(into hasher: inout Hasher) {
        ExactText(table).hash(into: &hasher)
        ExactText(key).hash(into: &hasher)
    }
}
