import Foundation
import GRDB
import Logging

/// What applying one page of the scoped feed did.
public struct FeedReport: Hashable, Sendable {
    /// Rows inserted or changed.
    public var rowsChanged = 0
    /// Rows the page carried that are not in this node's scope: refused, not stored.
    public var refused: [String: Int] = [:]
    /// Rows purged because they left the scope.
    public var purged = 0
    /// The feed cursor once the page is applied.
    public var cursor = VersionVector()
}

extension Replica {
    /// The scope this node holds when it is a ward node under scoped policies; nil otherwise.
    public var ownScope: FeedScope? {
        guard policies.isScoped, identity.role == .ward else { return nil }
        return FeedScope(node: nodeID, wards: identity.wards)
    }

    /// How many days after a discharge a patient stays in a ward's scope (the declared `scope-root`
    /// window as the database holds it now); nil when the policies declare no scope.
    public func scopeWindowDays(_ db: Database) throws -> Int? {
        guard let root = policies.patientScope else { return nil }
        return try ScopeView.windowDays(root, policies: policies, db)
    }

    /// Starts this ward node's feed over (a full snapshot of its scope at the next sync) when what
    /// it and central declare alike (``SharedSchema/fingerprint``) changed since its cursor was
    /// built: one of them was upgraded, and rows it holds lack columns central can now send.
    /// - Returns: whether the cursor was reset.
    @discardableResult
    public func adoptFeedSchema(_ fingerprint: String) throws -> Bool {
        try writer.write { db in
            let stored = try String.fetchOne(db, sql: "SELECT fingerprint FROM _sf_feed_schema WHERE id = 1")
            guard stored != fingerprint else { return false }
            try db.execute(
                sql: "INSERT INTO _sf_feed_schema (id, fingerprint) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint",
                arguments: [fingerprint])
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM _sf_feed)") == true else { return false }
            try db.execute(sql: "DELETE FROM _sf_feed")
            return true
        }
    }

    /// How far central's commits are reflected in what this ward node holds (its summary to central).
    public func feedCursor() throws -> VersionVector {
        try writer.read { db in try feedCursor(db) }
    }

    func feedCursor(_ db: Database) throws -> VersionVector {
        var entries: [NodeID: UInt64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT origin, seq FROM _sf_feed") {
            entries[NodeID(databaseValue: row[0])] = UInt64(row[1] as Int64)
        }
        return VersionVector(entries)
    }

    /// Applies one page of central's scoped feed in one transaction: joins each row's state into
    /// the local row (the column policies' join, as for commits), refuses rows outside this node's
    /// scope (counted, never stored), purges what left it, and stores the new cursor.
    ///
    /// Rows of the scope root in this node's wards are applied first: they decide which patients
    /// are in scope. The page's evictions and a final snapshot's lists come from central, which
    /// sees every ward's rows; they are followed even where this node's copy of a scope-root row
    /// is older than central's (central stops sending a row once it left the scope).
    /// - Throws: ``ReplicaError`` (`corruptMetadata`) when a row's metadata does not decode:
    ///   nothing of the page is applied.
    public func applyFeed(_ feed: RowFeed) async throws -> FeedReport {
        let (report, event) = try await writer.write { db in try self.merge(feed, in: db) }
        if let event { observers.emit(event) }
        if !report.refused.isEmpty {
            logger.warning(
                "refused rows outside this node's scope",
                metadata: ["replica.refused": "\(report.refused.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))"])
        }
        return report
    }

    /// Takes `central`'s feed for this ward node page by page, in process and through the wire form
    /// a session sends (set-up tools and benchmarks; running nodes sync in sessions). As in a
    /// session, central reads the next page while this node applies the last one.
    public func catchUp(from central: Replica) async throws {
        guard let scope = ownScope else { throw ReplicaError(.notAuthorized, "only a ward node under scoped policies takes a scoped feed") }
        let since = try feedCursor()
        func read(after cursor: FeedCursor?) -> Task<(feed: RowFeed, next: FeedCursor?), any Error> {
            Task.detached { try central.feed(for: scope, since: since, after: cursor) }
        }
        var reading = read(after: nil)
        var cursor: FeedCursor?
        repeat {
            let page = try await reading.value
            if let next = page.next { reading = read(after: next) }
            let decoded: RowFeed
            do throws(MalformedDataError) {
                decoded = try RowFeed(decoding: page.feed.encoded(), policies: policies)
            } catch {
                throw ReplicaError(.corruptMetadata, "a feed page did not decode: \(error.reason)")
            }
            _ = try await applyFeed(decoded)
            cursor = page.next
        } while cursor != nil
    }

    /// Purges every row outside this node's scope as its own rows say now: patients whose stay in
    /// its wards ended more than the window ago, accounts moved to other wards. A purge removes
    /// the local copy only; it is never a replicated delete.
    /// - Returns: the rows purged.
    @discardableResult
    public func purgeOutOfScope() async throws -> Int {
        guard let scope = ownScope else { return 0 }
        let (count, event) = try await writer.write { db in try self.purge(outside: scope, db) }
        if let event { observers.emit(event) }
        return count
    }

    /// The blocking form of ``purgeOutOfScope()`` (for housekeeping threads).
    @discardableResult
    public func purgeOutOfScopeNow() throws -> Int {
        guard let scope = ownScope else { return 0 }
        let (count, event) = try writer.write { db in try purge(outside: scope, db) }
        if let event { observers.emit(event) }
        return count
    }

    /// Purges the rows of `hold author` tables that another origin wrote (a ward node restored
    /// from a backup under a new id: what it wrote under its old id is another node's now, and
    /// the feed never brings such rows, so keeping them would leave it holding what its scope does
    /// not). The local copy only, never a replicated delete; the commits stay.
    /// - Returns: the rows purged.
    @discardableResult
    public func purgeRowsAuthoredElsewhere() throws -> Int {
        guard ownScope != nil else { return 0 }
        let (count, event) = try writer.write { db -> (Int, ReplicaEvent?) in
            var purger = ScopePurger(replica: self, db: db)
            for declaration in policies.tables where declaration.hold == .author {
                guard let table = tables[declaration.name] else { continue }
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \(declaration.name.quotedDatabaseIdentifier)") {
                    let values = declaration.columns.map { row[$0.name] as DatabaseValue }
                    let meta = Array((row["_sf_meta"] as Data?) ?? Data())
                    let author = (try? RowMetaCodec.decode(meta, values: values, policies: table.policies)).flatMap(Self.author)
                    if author != nodeID { try purger.purge(table, key: row[declaration.primaryKey]) }
                }
            }
            return (purger.purged, purger.event)
        }
        if let event { observers.emit(event) }
        return count
    }

    private func purge(outside scope: FeedScope, _ db: Database) throws -> (Int, ReplicaEvent?) {
        let view = try ScopeView(scope, policies: policies, now: wallClock.now(), db)
        var purger = ScopePurger(replica: self, db: db)
        try purger.retryEvictions()
        try purger.keepOnly(patients: view.patients, wardKeys: nil, wards: scope.wards)
        return (purger.purged, purger.event)
    }

    private func merge(_ feed: RowFeed, in db: Database) throws -> (FeedReport, ReplicaEvent?) {
        guard let scope = ownScope else {
            throw ReplicaError(.notAuthorized, "only a ward node under scoped policies applies a scoped feed")
        }
        var report = FeedReport()
        var changed: [String: Set<String>] = [:]
        let store = RowStore(db: db, gate: gate, buriedTables: buriedTables)
        // Scope-root rows of this node's wards first: they decide who is in scope.
        var rest: [RowFeed.Entry] = []
        for entry in feed.entries {
            guard case .state(let values, _) = entry.body, let table = tables[entry.table],
                scope.isRootRowOfOwnWard(table.declaration, values: values, root: policies.patientScope)
            else {
                rest.append(entry)
                continue
            }
            if try join(entry, into: table, store) { changed[table.name, default: []].insert(entry.key) }
        }
        // The view is asked only about the patients this page carries rows of.
        var candidates: Set<ExactText> = []
        for entry in rest {
            guard case .state(let values, _) = entry.body, let declaration = tables[entry.table]?.declaration,
                case .patient(let column) = declaration.hold,
                let patient = ScopeView.patient(of: declaration, column: column, key: entry.key, values: values)
            else { continue }
            candidates.insert(ExactText(patient))
        }
        let view = try ScopeView(scope, policies: policies, now: wallClock.now(), db, of: candidates)
        var purger = ScopePurger(replica: self, db: db)
        if let root = view.root, let rootTable = policies.table(named: root.table) {
            for entry in feed.entries where entry.table == root.table {
                guard case .state(let values, _) = entry.body,
                    let patient = ScopeView.patient(of: rootTable, column: root.patientColumn, key: entry.key, values: values)
                else { continue }
                try purger.cancelEviction(of: patient)
            }
        }
        var joiner = FeedJoiner(store: store)
        for entry in rest {
            guard let table = tables[entry.table] else { continue }
            switch entry.body {
            case .state(let values, _):
                guard table.declaration.hold != .author, view.holds(table.declaration, key: entry.key, values: values, author: nil) else {
                    report.refused[table.name, default: 0] += 1
                    continue
                }
                try joiner.add(entry, into: table)
            case .gone:
                // Only a row of a `hold ward` table leaves by itself; anything else is refused.
                guard case .ward = table.declaration.hold else {
                    report.refused[table.name, default: 0] += 1
                    continue
                }
                try joiner.flush()
                try purger.purge(table, key: entry.key)
            }
        }
        try joiner.flush()
        for (table, keys) in joiner.changed { changed[table, default: []].formUnion(keys) }
        for patient in feed.evicted { try purger.purge(patient: patient) }
        if let snapshot = feed.snapshot {
            try purger.keepOnly(patients: snapshot.patients, wardKeys: snapshot.wardKeys, wards: scope.wards)
        }
        for entry in feed.cursor.sorted {
            try db.execute(
                sql: "INSERT INTO _sf_feed (origin, seq) VALUES (?, ?) ON CONFLICT (origin) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                arguments: [entry.origin.databaseValue, Int64(entry.seq)])
        }
        // Central may now have echoed writes an eviction waited for.
        var retry = ScopePurger(replica: self, db: db)
        try retry.retryEvictions()
        report.rowsChanged = changed.values.reduce(0) { $0 + $1.count }
        report.purged = purger.purged + retry.purged
        for (table, keys) in retry.changed { changed[table, default: []].formUnion(keys) }
        report.cursor = try feedCursor(db)
        for (table, keys) in purger.changed { changed[table, default: []].formUnion(keys) }
        return (report, changed.isEmpty ? nil : ReplicaEvent(source: .remote, rows: changed, lostWrites: []))
    }

    /// Joins a row state from the feed into the stored row. Returns whether the row changed.
    private func join(_ entry: RowFeed.Entry, into table: ReplicatedTable, _ store: RowStore) throws -> Bool {
        guard case .state(let values, let meta) = entry.body else { return false }
        return try FeedJoiner.join(FeedJoiner.state(of: table, values: values, meta: meta), key: entry.key, into: table, store)
    }
}

/// Joins a page's row states into the stored rows, consecutive rows of one table together: one
/// lookup and one multi-row insert per chunk for the rows not stored yet (all of them, in a
/// fresh ward node's snapshot), the column policies' join for the others.
private struct FeedJoiner {
    static let chunkSize = 128

    let store: RowStore
    /// The keys that changed, by table.
    var changed: [String: Set<String>] = [:]
    private var table: ReplicatedTable?
    private var pending: [StatedRow] = []
    private var pendingKeys: Set<String> = []

    init(store: RowStore) {
        self.store = store
    }

    /// Takes a row state; joins the rows taken before first when it is of another table, or a row
    /// taken again in the same page (a page should never repeat a row, but a repeat must not fail
    /// the insert).
    mutating func add(_ entry: RowFeed.Entry, into table: ReplicatedTable) throws {
        guard case .state(let values, let meta) = entry.body else { return }
        let state = try Self.state(of: table, values: values, meta: meta)
        if self.table?.id != table.id || pendingKeys.contains(entry.key) || pending.count >= Self.chunkSize { try flush() }
        self.table = table
        pending.append(StatedRow(key: entry.key, rowState: state))
        pendingKeys.insert(entry.key)
    }

    /// Joins the rows taken so far.
    mutating func flush() throws {
        guard let table, !pending.isEmpty else { return }
        defer {
            pending.removeAll(keepingCapacity: true)
            pendingKeys.removeAll(keepingCapacity: true)
        }
        let inserted = try store.insertRows(table, pending)
        for row in pending {
            // A row found stored is joined column by column.
            let stored = !(inserted?.contains(ExactText(row.key)) ?? true)
            if try !stored || Self.join(row.rowState, key: row.key, into: table, store) { changed[table.name, default: []].insert(row.key) }
        }
    }

    /// A feed row's merge state, checked against the table's declaration.
    static func state(of table: ReplicatedTable, values: [DatabaseValue], meta: [UInt8]) throws -> RowState {
        do throws(MalformedDataError) {
            return try RowMetaCodec.decode(meta, values: values, policies: table.policies)
        } catch {
            throw ReplicaError(.corruptMetadata, "a feed row of table '\(table.name)' has unreadable metadata: \(error.reason)")
        }
    }

    /// Joins a row state into the stored row (inserts it when there is none). Returns whether the
    /// row changed.
    static func join(_ incoming: RowState, key: String, into table: ReplicatedTable, _ store: RowStore) throws -> Bool {
        guard let existing = try store.load(table, key: key) else {
            return try store.insertIfAbsent(table, key: key, incoming)
        }
        var merged = existing
        for index in merged.columns.indices {
            merged.columns[index] = ColumnMerge.merge(table.policies[index], existing.columns[index], incoming.columns[index]).state
        }
        guard merged != existing else { return false }
        try store.replace(table, key: key, old: existing, new: merged)
        return true
    }
}

/// Removes local copies of rows that left the scope (never a replicated delete: no tombstone,
/// nothing is sent).
///
/// A patient this node wrote about in commits central has not echoed back yet is kept: central's
/// verdict (an eviction, a snapshot's list) predates those writes, and the node's own view may
/// lack the admission it is recording (a new patient, then the admission, are two commits). Once
/// central has the writes, its feed and the node's sweep decide.
struct ScopePurger {
    let replica: Replica
    let db: Database
    var purged = 0
    var changed: [String: Set<String>] = [:]
    private var unechoed: Set<ExactText>?

    init(replica: Replica, db: Database) {
        self.replica = replica
        self.db = db
    }

    /// Patients whose rows this node's commits after its feed cursor's own entry touched.
    private mutating func patientsWithUnechoedWrites() throws -> Set<ExactText> {
        if let unechoed { return unechoed }
        let own = replica.nodeID
        let echoed = try replica.feedCursor(db)[own]
        let newest = try CommitStore(db: db).newestSeq(own)
        var patients: Set<ExactText> = []
        if newest > echoed {
            var commits = try CommitStore(db: db).commits(own, after: echoed, upTo: newest)
            while let commit = try commits.next() {
                for ref in replica.rowsTouched(by: commit.body, origin: own, seq: commit.seq) {
                    guard let table = replica.tables[ref.table], case .patient(let column) = table.declaration.hold else { continue }
                    if column == table.declaration.primaryKey {
                        patients.insert(ExactText(ref.key))
                    } else if let patient = try String.fetchOne(
                        db,
                        sql:
                            "SELECT \(column.quotedDatabaseIdentifier) FROM \(table.name.quotedDatabaseIdentifier) WHERE \(table.declaration.primaryKey.quotedDatabaseIdentifier) = ?",
                        arguments: [ref.key])
                    {
                        patients.insert(ExactText(patient))
                    }
                }
            }
        }
        unechoed = patients
        return patients
    }

    var event: ReplicaEvent? { changed.isEmpty ? nil : ReplicaEvent(source: .remote, rows: changed, lostWrites: []) }

    /// Purges one row.
    mutating func purge(_ table: ReplicatedTable, key: String) throws {
        try delete(table, where: "\(table.declaration.primaryKey.quotedDatabaseIdentifier) = ?", [key.databaseValue])
    }

    /// Purges every row held by patient of one patient; for a patient with unechoed writes, the
    /// eviction waits (see ``retryEvictions()``).
    mutating func purge(patient: String) throws {
        guard try !patientsWithUnechoedWrites().contains(ExactText(patient)) else {
            try db.execute(sql: "INSERT OR IGNORE INTO _sf_evict (patient) VALUES (?)", arguments: [patient])
            return
        }
        try purgeRows(of: patient)
    }

    /// Carries out the evictions that waited for central to echo this node's writes.
    mutating func retryEvictions() throws {
        let waiting = try String.fetchAll(db, sql: "SELECT patient FROM _sf_evict")
        guard !waiting.isEmpty else { return }
        let unechoed = try patientsWithUnechoedWrites()
        for patient in waiting where !unechoed.contains(ExactText(patient)) {
            try purgeRows(of: patient)
            try db.execute(sql: "DELETE FROM _sf_evict WHERE patient = ?", arguments: [patient])
        }
    }

    /// A patient came back into scope (central sent its scope-root rows): a waiting eviction is void.
    func cancelEviction(of patient: String) throws {
        try db.execute(sql: "DELETE FROM _sf_evict WHERE patient = ?", arguments: [patient])
    }

    private mutating func purgeRows(of patient: String) throws {
        for table in replica.fedTables {
            guard case .patient(let column) = table.declaration.hold else { continue }
            try delete(table, where: "\(column.quotedDatabaseIdentifier) = ?", [patient.databaseValue])
        }
    }

    /// Keeps rows held by patient only for these patients, and rows of `hold ward` tables only in
    /// these wards (and, when `wardKeys` lists a table, only under the listed keys).
    mutating func keepOnly(patients: Set<ExactText>, wardKeys: [String: Set<ExactText>]?, wards: Set<String>) throws {
        // A patient kept only for unechoed writes is purged once central has them (unless they come back).
        let unechoed = try patientsWithUnechoedWrites()
        for patient in unechoed.subtracting(patients) {
            try db.execute(sql: "INSERT OR IGNORE INTO _sf_evict (patient) VALUES (?)", arguments: [patient.text])
        }
        let patients = patients.union(unechoed)
        for table in replica.fedTables {
            switch table.declaration.hold {
            case .patient(let column):
                try delete(
                    table, where: "\(column.quotedDatabaseIdentifier) IS NULL OR \(column.quotedDatabaseIdentifier) NOT IN (SELECT value FROM json_each(?))",
                    [SetCodec.text(patients.map(\.text)).databaseValue])
            case .ward(let column):
                try delete(
                    table, where: "\(column.quotedDatabaseIdentifier) IS NULL OR \(column.quotedDatabaseIdentifier) NOT IN (SELECT value FROM json_each(?))",
                    [SetCodec.text(wards).databaseValue])
                if let keys = wardKeys?[table.name] {
                    try delete(
                        table, where: "\(table.declaration.primaryKey.quotedDatabaseIdentifier) NOT IN (SELECT value FROM json_each(?))",
                        [SetCodec.text(keys.map(\.text)).databaseValue])
                }
            case .all, .author, nil:
                break
            }
        }
    }

    private mutating func delete(_ table: ReplicatedTable, where condition: String, _ arguments: [DatabaseValue]) throws {
        let key = table.declaration.primaryKey.quotedDatabaseIdentifier
        var keys: [String] = []
        try replica.gate.open {
            keys = try String.fetchAll(
                db, sql: "DELETE FROM \(table.name.quotedDatabaseIdentifier) WHERE \(condition) RETURNING \(key)", arguments: StatementArguments(arguments))
        }
        guard !keys.isEmpty else { return }
        if !table.keepBothColumns.isEmpty {
            for key in keys {
                try db.execute(sql: "DELETE FROM _sf_conflict WHERE tbl = ? AND pk = ?", arguments: [table.name, key])
            }
        }
        purged += keys.count
        changed[table.name, default: []].formUnion(keys)
    }
}
