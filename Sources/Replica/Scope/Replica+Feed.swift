import Foundation
import GRDB
import Logging

/// Where a paged ``Replica/feed(for:since:after:maxRows:)`` stopped.
public struct FeedCursor: Hashable, Sendable {
    enum Position: Hashable, Sendable {
        /// Reading commits: the origin being read and how far its commits are covered.
        case commits(origin: NodeID, covered: UInt64)
        /// A full snapshot: the vector it reflects (read when it began), the pass it is in (see
        /// `FeedBuilder.snapshotPasses`), the last row sent of it, and the patients its first page
        /// found in scope (every page uses them: the commits after `start` bring what changed).
        case snapshot(start: VersionVector, table: Int, after: SnapshotMark?, patients: Set<ExactText>)
    }

    let position: Position
}

/// The last row a snapshot pass sent: its key, and for a table held by patient (read patient by
/// patient, so each page reads only the rows it sends) its patient.
struct SnapshotMark: Hashable, Sendable {
    var key: String
    var patient: String?
}

extension Replica {
    /// How many commits a ward node may lag behind before its feed is a full snapshot of its scope
    /// instead of a walk through the commits it missed (a scope is a small share of the hospital).
    public static let snapshotThreshold: UInt64 = 20_000

    /// One page of the scoped feed for a ward node whose cursor is `since`: the current state of
    /// every row in its scope that a commit after the cursor touched (the node's own commits
    /// included, so a row it purged and got back before central had its own write comes back
    /// with it), every row of a patient whose scope-root row changed and who is in scope
    /// (backfill), the patients whose scope-root row changed and who are not (eviction), and the
    /// rows of `hold ward` tables that moved out of the node's wards. A node with no cursor, or
    /// one more than ``snapshotThreshold`` commits behind, gets a full snapshot of its scope.
    /// - Returns: the page and the cursor for the next one (`nil` when this was the last).
    public func feed(
        for scope: FeedScope, since cursor: VersionVector, after page: FeedCursor? = nil, maxRows: Int = 2_000, maxBytes: Int = 4 << 20
    ) throws -> (
        feed: RowFeed, next: FeedCursor?
    ) {
        try writer.read { db in
            func builder(_ view: ScopeView, current: Bool = true) -> FeedBuilder {
                FeedBuilder(replica: self, db: db, view: view, viewIsCurrent: current, maxRows: max(maxRows, 1), maxBytes: max(maxBytes, 1))
            }
            switch page?.position {
            case .snapshot(let start, let table, let after, let patients):
                var builder = builder(ScopeView(scope: scope, root: policies.patientScope, patients: patients), current: false)
                return try builder.snapshot(since: cursor, start: start, table: table, after: after)
            case .commits(let origin, let covered):
                var builder = builder(try ScopeView(scope, policies: policies, now: wallClock.now(), db))
                return try builder.commits(since: cursor, local: try feedVector(db), resumeAt: (origin, covered))
            case nil:
                var builder = builder(try ScopeView(scope, policies: policies, now: wallClock.now(), db))
                let local = try feedVector(db)
                if cursor.entries.isEmpty || local.commitsAhead(of: cursor) > Self.snapshotThreshold {
                    return try builder.snapshot(since: cursor, start: local, table: 0, after: nil)
                }
                return try builder.commits(since: cursor, local: local, resumeAt: nil)
            }
        }
    }

    /// The (table, key) of each change in a stored commit. A commit that does not decode (it never
    /// should: it was checked when it arrived or made here) is logged and skipped, not fatal: one
    /// bad commit must not stop every ward's feed.
    func rowsTouched(by body: [UInt8], origin: NodeID, seq: UInt64) -> [RowRef] {
        do {
            let decoded = try CommitCodec.decode(body, origin: origin, seq: seq, tables: tables, limits: ChangeBatch.Limits())
            return decoded.deltas.map { RowRef(table: $0.table, key: $0.key) }
        } catch {
            logger.error(
                "a stored commit does not decode; the scoped feed skips it",
                metadata: ["replica.origin": "\(origin)", "replica.seq": "\(seq)", "replica.rule": "\(error.rule)"])
            return []
        }
    }

    /// The version vector, each revoked origin cut at its revocation's cut-off.
    func feedVector(_ db: Database) throws -> VersionVector {
        var entries: [NodeID: UInt64] = [:]
        for entry in try versionVector(db).sorted {
            entries[entry.origin] = min(entry.seq, try revocationCutoff(entry.origin, db) ?? entry.seq)
        }
        return VersionVector(entries)
    }

    /// The tables a ward node may hold rows of from the feed (its own `hold author` rows never
    /// travel back to it): the scope root first (a ward node accepts a patient's rows once it
    /// holds the root row that puts the patient in its scope), then by name.
    var fedTables: [ReplicatedTable] {
        let fed = policies.tables.compactMap { declaration -> ReplicatedTable? in
            switch declaration.hold {
            case .all, .ward, .patient: tables[declaration.name]
            case .author, nil: nil
            }
        }
        let root = policies.patientScope?.table
        return fed.filter { $0.name == root } + fed.filter { $0.name != root }
    }
}

/// Builds one page of the feed inside one read transaction.
private struct FeedBuilder {
    let replica: Replica
    let db: Database
    let view: ScopeView
    /// Whether `view` was read in this transaction (not carried from a snapshot's first page).
    let viewIsCurrent: Bool
    let maxRows: Int
    /// Row bytes a page aims at (values and metadata): a page of large rows ends early, so it
    /// stays well within what a ward node takes (64 MiB inflated).
    let maxBytes: Int
    var bytes = 0
    var feed = RowFeed()
    var sent: Set<RowRef> = []

    init(replica: Replica, db: Database, view: ScopeView, viewIsCurrent: Bool = true, maxRows: Int, maxBytes: Int) {
        self.replica = replica
        self.db = db
        self.view = view
        self.viewIsCurrent = viewIsCurrent
        self.maxRows = maxRows
        self.maxBytes = maxBytes
    }

    var isFull: Bool { feed.count >= maxRows || bytes >= maxBytes }

    // MARK: Snapshot

    /// A snapshot reads the scope in passes: the scope root's rows in the node's wards first (they
    /// put patients in its scope: a ward node accepts a patient's rows once it holds one), then
    /// every fed table by its rule (the root again, for its rows in other wards).
    private var snapshotPasses: [(table: ReplicatedTable, hold: HoldRule)] {
        var passes: [(table: ReplicatedTable, hold: HoldRule)] = []
        if let root = view.root, let table = replica.tables[root.table] { passes.append((table, .ward(column: root.wardColumn))) }
        for table in replica.fedTables { if let hold = table.declaration.hold { passes.append((table, hold)) } }
        return passes
    }

    mutating func snapshot(
        since cursor: VersionVector, start: VersionVector, table first: Int, after mark: SnapshotMark?
    ) throws -> (
        feed: RowFeed, next: FeedCursor?
    ) {
        let passes = snapshotPasses
        var index = first, mark = mark
        while index < passes.count {
            let (table, hold) = passes[index]
            let limit = maxRows - feed.count
            let rows = try self.rows(of: table, hold: hold, after: mark, limit: limit)
            let leftScope = try patientsThatLeftTheScope(rows)
            for row in rows {
                if let patient = row.patient, leftScope.contains(Array(patient.utf8)) { continue }
                append(table, key: row.key, values: row.values, meta: row.meta)
                if isFull {
                    // The next page goes on after this row (in this pass, or the next one).
                    feed.cursor = cursor
                    return (feed, FeedCursor(position: .snapshot(start: start, table: index, after: row.mark, patients: view.patients)))
                }
            }
            if rows.count == limit, let last = rows.last {
                // The pass may have more rows (rows already in the page were not added again).
                mark = last.mark
                continue
            }
            index += 1
            mark = nil
        }
        feed.cursor = cursor.merging(start)
        var wardKeys: [String: Set<ExactText>] = [:]
        for table in replica.fedTables {
            guard case .ward(let column) = table.declaration.hold else { continue }
            wardKeys[table.name] = try String.fetchAll(
                db,
                sql:
                    "SELECT \(table.declaration.primaryKey.quotedDatabaseIdentifier) FROM \(table.name.quotedDatabaseIdentifier) WHERE \(inList(column, view.scope.wards.count))",
                arguments: StatementArguments(view.scope.wards.sorted())
            ).uniqueExactly()
        }
        feed.snapshot = RowFeed.Snapshot(patients: view.patients, wardKeys: wardKeys)
        return (feed, nil)
    }

    /// Rows of a table selected by a hold rule for the scope, after `mark`: in key order, or for a
    /// table held by a patient column other than its key, in (patient, key) order. That order
    /// lets SQLite read the scope's patients one by one from the scope index and stop at `limit`
    /// (in key order it read and sorted every row of the scope for every page).
    private func rows(of table: ReplicatedTable, hold: HoldRule, after mark: SnapshotMark?, limit: Int) throws -> [SnapshotRow] {
        let declaration = table.declaration
        let key = declaration.primaryKey.quotedDatabaseIdentifier
        var conditions: [String] = []
        var arguments: [DatabaseValue] = []
        var order = key
        var patientColumn: String?
        var patientOf: (String, [DatabaseValue]) -> String? = { _, _ in nil }
        switch hold {
        case .ward(let column):
            conditions.append(inList(column, view.scope.wards.count))
            arguments += view.scope.wards.sorted().map(\.databaseValue)
        case .patient(let column):
            let patient = column.quotedDatabaseIdentifier
            // SQLite seeks every patient of the list in the scope index, those a mark has passed
            // too: without this floor a page cost as much as all the pages before it.
            let floor: (String, String)? =
                if column == declaration.primaryKey { mark.map { (">", $0.key) } } else { mark?.patient.map { (">=", $0) } }
            conditions.append("\(patient) IN (SELECT value FROM json_each(?)\(floor.map { " WHERE value \($0.0) ?" } ?? ""))")
            arguments.append(SetCodec.text(view.patients.map(\.text)).databaseValue)
            if let floor { arguments.append(floor.1.databaseValue) }
            patientOf = { ScopeView.patient(of: declaration, column: column, key: $0, values: $1) }
            if column != declaration.primaryKey {
                patientColumn = column
                order = "\(patient), \(key)"
            }
        case .all, .author:
            break
        }
        if let mark {
            if let patientColumn, let patient = mark.patient {
                let column = patientColumn.quotedDatabaseIdentifier
                conditions.append("\(column) >= ? AND NOT (\(column) = ? AND \(key) <= ?)")
                arguments += [patient.databaseValue, patient.databaseValue, mark.key.databaseValue]
            } else {
                conditions.append("\(key) > ?")
                arguments.append(mark.key.databaseValue)
            }
        }
        let columns = ([declaration.primaryKey] + declaration.columns.map(\.name) + ["_sf_meta"]).map(\.quotedDatabaseIdentifier)
        let sql =
            "SELECT \(columns.joined(separator: ", ")) FROM \(declaration.name.quotedDatabaseIdentifier)"
            + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            + " ORDER BY \(order) LIMIT \(limit)"
        // Rows are read off the statement, not copied into `Row`s first.
        let cursor = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
        var rows: [SnapshotRow] = []
        rows.reserveCapacity(limit)
        while let row = try cursor.next() {
            let (key, values, meta) = Self.split(row)
            rows.append(SnapshotRow(key: key, values: values, meta: meta, patient: patientOf(key, values)))
        }
        return rows
    }

    /// Of the patients these rows belong to (rows of a `hold patient` table), those no longer in scope.
    /// A snapshot's pages after the first select by the patients in scope when it began (reading
    /// the whole scope again for every page was most of a ward's initial sync); a patient who left
    /// since (transferred, discharged past the window) gets nothing more from it, and the commits
    /// after the snapshot evict them.
    /// - Returns: their ids' bytes.
    private func patientsThatLeftTheScope(_ rows: [SnapshotRow]) throws -> Set<[UInt8]> {
        guard !viewIsCurrent else { return [] }
        let patients = rows.compactMap(\.patient)
        guard !patients.isEmpty else { return [] }
        let current = try ScopeView(view.scope, policies: replica.policies, now: replica.wallClock.now(), db, of: patients.uniqueExactly())
        return Set(patients.filter { !current.contains(patient: $0) }.map { Array($0.utf8) })
    }

    /// A row a snapshot pass read.
    private struct SnapshotRow {
        var key: String
        var values: [DatabaseValue]
        var meta: [UInt8]
        /// The patient it belongs to, in a table held by patient.
        var patient: String?

        var mark: SnapshotMark { SnapshotMark(key: key, patient: patient) }
    }

    // MARK: Commits

    mutating func commits(
        since cursor: VersionVector, local: VersionVector, resumeAt: (origin: NodeID, covered: UInt64)?
    ) throws -> (
        feed: RowFeed, next: FeedCursor?
    ) {
        var covered = cursor
        var touched: [(ref: RowRef, origin: NodeID, seq: UInt64)] = []
        var seen: Set<RowRef> = []
        var next: FeedCursor?
        let origins = local.sorted.filter { $0.seq > cursor[$0.origin] }
        scan: for entry in origins {
            var after = cursor[entry.origin]
            if let resumeAt {
                if entry.origin < resumeAt.origin { continue }
                if entry.origin == resumeAt.origin { after = max(after, resumeAt.covered) }
            }
            var commits = try CommitStore(db: db).commits(entry.origin, after: after, upTo: entry.seq)
            while let commit = try commits.next() {
                if seen.count >= maxRows {
                    next = FeedCursor(position: .commits(origin: entry.origin, covered: covered[entry.origin]))
                    break scan
                }
                for ref in replica.rowsTouched(by: commit.body, origin: entry.origin, seq: commit.seq) where seen.insert(ref).inserted {
                    touched.append((ref, entry.origin, commit.seq))
                }
                covered[entry.origin] = commit.seq
            }
        }
        var rootPatients: [String] = []
        var rootSeen: Set<[UInt8]> = []
        for (position, (ref, _, _)) in touched.enumerated() {
            if bytes >= maxBytes, position < touched.count {
                // Full in bytes: end before the commit of the first row left out (it is walked
                // again, whole, by the next page); origins after it are not covered yet.
                let (_, origin, seq) = touched[position]
                covered[origin] = seq - 1
                var later = false
                for entry in local.sorted {
                    if later { covered[entry.origin] = cursor[entry.origin] }
                    if entry.origin == origin { later = true }
                }
                next = FeedCursor(position: .commits(origin: origin, covered: seq - 1))
                break
            }
            guard let table = replica.tables[ref.table], let hold = table.declaration.hold, hold != .author,
                let row = try self.row(of: table, key: ref.key)
            else { continue }
            if view.holds(table.declaration, key: ref.key, values: row.values, author: nil) {
                append(table, key: ref.key, values: row.values, meta: row.meta)
            } else if case .ward(let column) = hold, let index = table.columnIndexes[column], !row.values[index].isNull {
                // A row of another ward (it may have been this ward's until this change). Rows
                // in no ward (administrators' accounts) were never any ward's: nothing to say.
                feed.entries.append(RowFeed.Entry(table: table.name, key: ref.key, body: .gone))
            }
            if let root = view.root, table.name == root.table,
                let patient = ScopeView.patient(of: table.declaration, column: root.patientColumn, key: ref.key, values: row.values),
                rootSeen.insert(Array(patient.utf8)).inserted
            {
                rootPatients.append(patient)
            }
        }
        for patient in rootPatients {
            if view.contains(patient: patient) {
                try backfill(patient)
            } else {
                feed.evicted.append(patient)
            }
        }
        feed.cursor = covered
        return (feed, next)
    }

    /// Every row of a patient in the tables held by patient.
    private mutating func backfill(_ patient: String) throws {
        for table in replica.fedTables {
            guard case .patient(let column) = table.declaration.hold else { continue }
            let declaration = table.declaration
            let columns = ([declaration.primaryKey] + declaration.columns.map(\.name) + ["_sf_meta"]).map(\.quotedDatabaseIdentifier)
            let sql = "SELECT \(columns.joined(separator: ", ")) FROM \(declaration.name.quotedDatabaseIdentifier) WHERE \(column.quotedDatabaseIdentifier) = ?"
            for row in try Row.fetchAll(db.cachedStatement(sql: sql), arguments: [patient]).map(Self.split) {
                append(table, key: row.key, values: row.values, meta: row.meta)
            }
        }
    }

    private func row(of table: ReplicatedTable, key: String) throws -> (values: [DatabaseValue], meta: [UInt8])? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: table.selectSQL), arguments: [key]) else { return nil }
        let count = table.policies.count
        return ((0..<count).map { row[$0] }, Array((row[count] as Data?) ?? Data()))
    }

    // MARK: -

    private mutating func append(_ table: ReplicatedTable, key: String, values: [DatabaseValue], meta: [UInt8]) {
        guard sent.insert(RowRef(table: table.name, key: key)).inserted else { return }
        bytes +=
            key.utf8.count + meta.count
            + values.reduce(0) { total, value in
                switch value.storage {
                case .string(let text): total + text.utf8.count
                case .blob(let data): total + data.count
                default: total + 9
                }
            }
        feed.entries.append(RowFeed.Entry(table: table.name, key: key, body: .state(values: values, meta: meta)))
    }

    private func inList(_ column: String, _ count: Int) -> String {
        guard count > 0 else { return "0" }
        return "\(column.quotedDatabaseIdentifier) IN (\(Array(repeating: "?", count: count).joined(separator: ",")))"
    }

    private static func split(_ row: Row) -> (key: String, values: [DatabaseValue], meta: [UInt8]) {
        let count = row.count - 2
        return (row[0], (0..<count).map { row[$0 + 1] }, Array((row[count + 1] as Data?) ?? Data()))
    }
}
