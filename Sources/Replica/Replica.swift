import Foundation
import GRDB
import GRDBSQLite
import Logging
import Synchronization

/// How a replica is opened.
public struct ReplicaConfiguration: Sendable {
    /// This node's id. `nil` keeps the id stored in the database, or picks a random one for a new database.
    public var nodeID: NodeID?
    /// The replicated tables and their conflict policies.
    public var policies: PolicySet
    /// The wall clock the hybrid logical clock follows.
    public var wallClock: any WallClock
    /// How far ahead of the wall clock a remote clock reading may pull this node's clock (milliseconds).
    public var maximumForwardSkew: UInt64
    /// A seed for row ids, for reproducible tests; `nil` uses the system's randomness.
    public var rowIDSeed: UInt64?
    /// The writer connection's SQLite page cache, in KiB (changes arrive out of key order; a large
    /// cache keeps merges fast).
    public var cacheSizeKiB: Int
    /// Each reader connection's SQLite page cache, in KiB: readers page out changes, feeds and reports,
    /// mostly in key order, and the operating system caches the file under them.
    public var readerCacheSizeKiB: Int = ReplicaConfiguration.defaultReaderCacheSizeKiB
    /// The most reader connections the replica opens at once.
    public var maximumReaderCount: Int = ReplicaConfiguration.defaultMaximumReaderCount
    /// Where the replica logs. Messages carry table names, row ids and node ids, never values.
    public var logger: Logger
    /// The most rows one local commit may change. A commit travels whole in one batch, and a peer
    /// decodes at most ``ChangeBatch/Limits/maxChanges`` changes per batch: a larger commit could
    /// never be synced, so it is refused before it commits.
    public var maximumRowsPerCommit: Int = ChangeBatch.Limits().maxChanges
    /// Signs this node's commits and identifies other origins; `nil` gives ``SharedSecretTrust``
    /// with the central role (tests and tools only: it trusts anyone who knows the shared secret).
    public var authority: (any CommitAuthority)?
    /// The replicated table whose row ids (16 hex digits) name revoked nodes: their commits are refused.
    public var revocationTable: String?
    /// How far ahead of this node's wall clock a peer's clock reading may be (milliseconds): a
    /// commit stamped further ahead is refused and its origin quarantined, never merged.
    public var maximumStampLead: UInt64 = 400 * 24 * 3600 * 1000
    /// Encryption at rest for the replica's files; `nil` keeps them in the clear (tests and tools).
    public var encryption: ReplicaEncryption?

    /// The writer's page cache unless configured otherwise: 32 MiB.
    public static let defaultCacheSizeKiB = 32 * 1024
    /// A reader's page cache unless configured otherwise: 4 MiB.
    public static let defaultReaderCacheSizeKiB = 4 * 1024
    /// Reader connections unless configured otherwise.
    public static let defaultMaximumReaderCount = 4

    /// The most page cache the replica's connections hold together, in KiB: the writer's and every
    /// reader's. With ``Replica/limitSQLiteHeap(toKiB:)`` this bounds what SQLite keeps in memory,
    /// however many rows the replica holds.
    public var pageCacheBudgetKiB: Int { cacheSizeKiB + maximumReaderCount * readerCacheSizeKiB }

    /// Creates a configuration with defaults: system clock, 5 minutes of tolerated forward skew, a
    /// 32 MiB writer cache and four readers of 4 MiB, no logging.
    public init(
        nodeID: NodeID? = nil, policies: PolicySet, wallClock: any WallClock = SystemWallClock(),
        maximumForwardSkew: UInt64 = 5 * 60 * 1000, rowIDSeed: UInt64? = nil,
        cacheSizeKiB: Int = ReplicaConfiguration.defaultCacheSizeKiB, logger: Logger = Logger(label: "suifang.replica", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.nodeID = nodeID
        self.policies = policies
        self.wallClock = wallClock
        self.maximumForwardSkew = maximumForwardSkew
        self.rowIDSeed = rowIDSeed
        self.cacheSizeKiB = cacheSizeKiB
        self.logger = logger
    }
}

/// One node's SQLite replica: declared tables whose every write is captured with
/// its clock stamp in the same transaction, merged with remote changes under the
/// declared conflict policies, and summarised by a version vector.
///
/// ```swift
/// let replica = try Replica.open(at: "ward.sqlite", configuration: .init(policies: policies))
/// let id = try replica.write { tx in
///     try tx.insert(into: "complaint", values: ["status": "registered"])
/// }
/// let (batch, _) = try replica.changes(since: peerVector)   // what the peer lacks
/// try peer.apply(batch)
/// ```
///
/// Reads go through ``reader``; writes to replicated tables made any other way than
/// ``write(_:)`` and ``apply(_:)`` are refused by guard triggers.
public final class Replica: Sendable {
    /// This node's id.
    public let nodeID: NodeID
    /// The loaded policy set.
    public let policies: PolicySet
    let writer: any DatabaseWriter
    let tables: [String: ReplicatedTable]
    let tablesByID: [Int64: ReplicatedTable]
    let gate: WriteGate
    let clock: Mutex<HybridLogicalClock>
    let random: Mutex<SplitMix64>
    let logger: Logger
    let observers = ReplicaObservers()
    let buriedTables = TombstoneTables()
    let orphanTables = TombstoneTables(sideTable: "_sf_orphan")
    /// Runs of commits that could not apply yet, tried again after each batch.
    let waitingRuns = WaitingRuns()
    /// This node's band in the commit store, once read.
    let ownBand: OwnBand
    /// Signs this node's chain heads, identifies other origins.
    let authority: any CommitAuthority
    /// Origins already identified, with the credential that identified them.
    let identities = Mutex<[NodeID: (credential: [UInt8], identity: OriginIdentity)]>([:])
    /// See ``ReplicaConfiguration/revocationTable``.
    let revocationTable: String?
    /// See ``ReplicaConfiguration/maximumStampLead``.
    let maximumStampLead: UInt64
    /// See ``ReplicaConfiguration/maximumRowsPerCommit``.
    let maximumRowsPerCommit: Int
    /// The writer connection's `PRAGMA data_version` when ``noticeOtherProcesses()`` last looked.
    let dataVersion = Mutex<Int64?>(nil)
    /// The wall clock this replica stamps with: the one clock a node asks for the time.
    public let wallClock: any WallClock
    /// Checkpoints a file replica's log off the writer (`nil` in memory); closed with the replica.
    let checkpointer: WALCheckpointer?

    /// Opens (or creates) a replica in a file, in WAL mode with `synchronous=FULL`:
    /// an acknowledged commit survives a crash or power loss.
    /// - Throws: `DatabaseError` when the file cannot be opened, ``ReplicaError`` when its
    ///   tables contradict the policies or it belongs to another node.
    public static func open(at path: String, configuration: ReplicaConfiguration) throws -> Replica {
        let gate = WriteGate()
        let file = ReplicaFile(path: path, encryption: configuration.encryption)
        let signal = WALCheckpointer.Signal()
        var pool = databaseConfiguration(configuration, gate: gate)
        pool.prepareDatabase { db in
            if !db.configuration.readonly { try signal.install(on: db) }
        }
        let writer = try openPool(at: file.openingPath, file.configured(pool))
        let checkpointer = try WALCheckpointer(file: file, signal: signal)
        do {
            return try Replica(writer: writer, gate: gate, configuration: configuration, checkpointer: checkpointer)
        } catch {
            checkpointer.close()
            throw error
        }
    }

    /// Opens a WAL-mode pool whose writer fsyncs every commit. GRDB sets `synchronous=NORMAL` when it
    /// turns WAL on — after `prepareDatabase` has run — so FULL is set again on the writer here
    /// (readers never commit). Benchmarks open their plain-SQLite baselines through this too.
    public static func openPool(at path: String, _ configuration: Configuration) throws -> DatabasePool {
        let pool = try DatabasePool(path: path, configuration: configuration)
        let level = try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            return try Int.fetchOne(db, sql: "PRAGMA synchronous")
        }
        guard level == 2 else {
            throw ReplicaError(.unsupportedSetting, "SQLite refused synchronous=FULL on the replica's file")
        }
        return pool
    }

    /// Creates a replica in memory (for tests and tools).
    public static func inMemory(configuration: ReplicaConfiguration) throws -> Replica {
        let gate = WriteGate()
        let queue = try DatabaseQueue(configuration: databaseConfiguration(configuration, gate: gate))
        return try Replica(writer: queue, gate: gate, configuration: configuration)
    }

    /// The pragmas every replica connection uses; benchmarks give the plain-SQLite baseline the same ones.
    public static func pragmas(cacheSizeKiB: Int) -> [String] {
        ["PRAGMA synchronous = FULL", "PRAGMA cache_size = -\(cacheSizeKiB)"]
    }

    /// Caps what SQLite allocates in this process (`sqlite3_soft_heap_limit64`): past the cap, page
    /// caches recycle their own pages instead of growing. Process-wide; a node calls it once, with its
    /// replica's ``ReplicaConfiguration/pageCacheBudgetKiB`` plus room for statements.
    public static func limitSQLiteHeap(toKiB kib: Int) {
        sqlite3_soft_heap_limit64(Int64(kib) * 1024)
    }

    private static func databaseConfiguration(_ configuration: ReplicaConfiguration, gate: WriteGate) -> Configuration {
        var config = Configuration()
        // Other processes (the CLI's status, a testnet's checks) may hold the file for a moment.
        config.busyMode = .timeout(10)
        config.maximumReaderCount = max(1, configuration.maximumReaderCount)
        let function = gate.function
        let writerPragmas = pragmas(cacheSizeKiB: configuration.cacheSizeKiB)
        let readerPragmas = pragmas(cacheSizeKiB: configuration.readerCacheSizeKiB)
        config.prepareDatabase { db in
            db.add(function: function)
            for pragma in db.configuration.readonly ? readerPragmas : writerPragmas {
                try db.execute(sql: pragma)
            }
        }
        return config
    }

    private init(writer: any DatabaseWriter, gate: WriteGate, configuration: ReplicaConfiguration, checkpointer: WALCheckpointer? = nil) throws {
        self.checkpointer = checkpointer
        try ReplicaSchema.migrator().migrate(writer)
        let (nodeID, tables, lastClock) = try writer.write { db -> (NodeID, [String: ReplicatedTable], HLC) in
            let stored = try Int64.fetchOne(db, sql: "SELECT nodeId FROM _sf_node WHERE id = 1").map(NodeID.init(databaseValue:))
            if let stored, let wanted = configuration.nodeID, stored != wanted {
                throw ReplicaError(.corruptMetadata, "the database belongs to node \(stored), not \(wanted)")
            }
            let nodeID = stored ?? configuration.nodeID ?? NodeID.random()
            if stored == nil {
                try db.execute(sql: "INSERT INTO _sf_node (id, nodeId) VALUES (1, ?)", arguments: [nodeID.databaseValue])
            }
            try ReplicaSchema.recordFeedSchemaOfEarlierRelease(in: db)
            let tables = try gate.open { try ReplicaSchema.prepareTables(configuration.policies, in: db) }
            // Local commits do not store the clock: its floor is also the newest of them (a wall
            // clock set back between two runs must not stamp a later write before an earlier one).
            let lastClock = try Int64.fetchOne(db, sql: "SELECT hlc FROM _sf_version WHERE origin = ?", arguments: [nodeID.databaseValue])
            return (nodeID, tables, max(lastClock.map(HLC.init(databaseValue:)) ?? .zero, try CommitStore(db: db).newestClock(nodeID)))
        }
        let authority = configuration.authority ?? SharedSecretTrust(nodeID: nodeID)
        guard authority.identity.nodeID == nodeID else {
            throw ReplicaError(.corruptMetadata, "the replica belongs to node \(nodeID), its signing identity to \(authority.identity.nodeID)")
        }
        if let revocations = configuration.revocationTable, configuration.policies.table(named: revocations) == nil {
            throw ReplicaError(.unknownTable, "the revocation table '\(revocations)' is not declared in the conflict policies")
        }
        self.nodeID = nodeID
        self.ownBand = OwnBand(origin: nodeID)
        self.policies = configuration.policies
        self.writer = writer
        self.tables = tables
        self.tablesByID = Dictionary(uniqueKeysWithValues: tables.values.map { ($0.id, $0) })
        self.gate = gate
        self.wallClock = configuration.wallClock
        self.clock = Mutex(HybridLogicalClock(wallClock: configuration.wallClock, maximumForwardSkew: configuration.maximumForwardSkew, last: lastClock))
        self.random = Mutex(
            SplitMix64(
                seed: configuration.rowIDSeed
                    ?? {
                        var system = SystemRandomNumberGenerator(); return system.next()
                    }()))
        self.logger = configuration.logger
        self.maximumRowsPerCommit = configuration.maximumRowsPerCommit
        self.authority = authority
        self.revocationTable = configuration.revocationTable
        self.maximumStampLead = configuration.maximumStampLead
        try remergeUnread()
    }

    deinit {
        checkpointer?.close()
    }

    /// Reads the replica (replicated tables, and any local table the application keeps beside them).
    ///
    /// From `async` code, read with ``read(_:)`` instead of `reader.read` (see there why).
    public var reader: any DatabaseReader { writer }

    /// Reads in one snapshot, from `async` code, on GRDB's reader queue.
    ///
    /// GRDB's own `async` read takes a reader connection and gives it back only once its task
    /// resumes on the cooperative pool. Sessions read synchronously on that pool; under load (a
    /// reconnect storm of 200 wards) every cooperative thread waited for a reader that only a
    /// suspended task could give back, and the node stopped. Here the reader is taken, used and
    /// given back by a thread that runs: a reader held is always being read with.
    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            writer.asyncRead { database in
                continuation.resume(with: Result { try body(database.get()) })
            }
        }
    }

    /// The version vector: per origin, the highest contiguous commit this replica holds.
    public func versionVector() throws -> VersionVector {
        try writer.read { db in try versionVector(db) }
    }

    /// The version vector as of the transaction `db` is in.
    ///
    /// Local commits do not write `_sf_version` (one write less per commit): this node's own
    /// entry is its newest stored commit.
    func versionVector(_ db: Database) throws -> VersionVector {
        var entries: [NodeID: UInt64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT origin, seq FROM _sf_version") {
            entries[NodeID(databaseValue: row[0])] = UInt64(row[1] as Int64)
        }
        entries[nodeID] = try Self.localSequence(db, nodeID: nodeID)
        return VersionVector(entries)
    }

    /// The most bytes one commit's body may hold: a commit travels whole, and a page must stay
    /// within what every peer inflates and decodes (64 MiB, 100,000 row changes).
    public static let maximumCommitBytes = 8 << 20

    /// This node's newest commit as stored.
    static func localSequence(_ db: Database, nodeID: NodeID) throws -> UInt64 {
        try CommitStore(db: db).newestSeq(nodeID)
    }

    /// The role this node signs its commits with.
    public var role: NodeRole { authority.identity.role }

    /// Who this node is, as its credential says (role, wards).
    public var identity: OriginIdentity { authority.identity }

    /// Refuses a local write the table's declared writers or `no-delete` do not allow.
    func checkWriteAuthority(_ table: ReplicatedTable, deleting: Bool = false) throws {
        let role = authority.identity.role
        guard table.declaration.writers.contains(role) else {
            let writers = table.declaration.writers.sorted { $0.rawValue < $1.rawValue }.map(\.description).joined(separator: ", ")
            throw ReplicaError(.notAuthorized, "table '\(table.name)' is written only by \(writers) nodes; this node is a \(role) node (administration happens on central)")
        }
        if deleting, !table.declaration.deletable {
            throw ReplicaError(.notAuthorized, "rows of table '\(table.name)' are never deleted (no-delete)")
        }
        if deleting, role == .ward, table.declaration.ownerColumn != nil {
            throw ReplicaError(.notAuthorized, "rows of table '\(table.name)' belong to wards; a ward node does not delete them")
        }
    }

    /// Refuses a ward node's local write to a row of an `owned-by` table whose ward is none of its
    /// certificate's: the ward a row is created for, or the ward a changed row is in before the
    /// change (a ward node may transfer a row out of its wards, not into them).
    func checkOwnership(_ table: ReplicatedTable, ward: DatabaseValue?, creating: Bool) throws {
        let identity = authority.identity
        guard let owner = table.declaration.ownerColumn, identity.role == .ward else { return }
        guard !identity.mayWrite(forWard: ward.flatMap(String.fromDatabaseValue)) else { return }
        let mine = identity.wards.sorted().joined(separator: ", ")
        throw ReplicaError(
            .notAuthorized,
            "rows of table '\(table.name)' belong to the ward in '\(owner)'; this node \(creating ? "creates" : "changes") them only for its certificate's wards (\(mine.isEmpty ? "none" : mine))"
        )
    }

    /// The id this node creates a row of `table` under (``BoundRowID``), from `base` (a fresh
    /// ULID when nil): bound to this node for an append-only table on any node but central, else
    /// bound to the row's ward for an `owned-by` table when the row has one, else `base`.
    public func boundID(_ base: String?, table name: String, ward: String?) throws -> String {
        try boundID(base, table: table(name), ward: ward)
    }

    func boundID(_ base: String?, table: ReplicatedTable, ward: String?) -> String {
        let base = base ?? makeRowID()
        if table.isAppendOnly, authority.identity.role != .central { return BoundRowID.bind(base, toNode: nodeID) }
        if table.declaration.ownerColumn != nil, let ward { return BoundRowID.bind(base, toWard: ward) }
        return base
    }

    /// What receivers check of the ids this node creates (``BoundRowID``), told to the local
    /// caller first: append-only rows bound to this node (but on central), ward rows bound to the
    /// row's ward (on a ward node).
    func checkCreatedID(_ key: String, _ table: ReplicatedTable, ward: String?) throws {
        let role = authority.identity.role
        if table.isAppendOnly, role != .central {
            guard BoundRowID.isBound(key, toNode: nodeID) else {
                throw ReplicaError(
                    .notAuthorized, "a \(role) node creates rows of append-only table '\(table.name)' only under ids bound to itself ('<id>~\(nodeID)~', BoundRowID)")
            }
        } else if table.declaration.ownerColumn != nil, role == .ward, !BoundRowID.isBound(key, toWard: ward) {
            throw ReplicaError(.notAuthorized, "a ward node creates rows of table '\(table.name)' only under ids bound to their ward ('<id>~<ward>', BoundRowID)")
        }
    }

    /// Appends a local commit to this node's chain (whose newest hash is `previous`), in the commit's transaction.
    func appendLocalCommit(seq: UInt64, body: [UInt8], after previous: [UInt8], in db: Database) throws {
        let hash = CommitChain.hash(previous: previous, origin: nodeID, seq: seq, body: body)
        try CommitStore(db: db, ownBand: ownBand).append(origin: nodeID, [CommitStore.StoredCommit(seq: seq, hash: hash, body: body)], packing: false)
    }

    /// Packs every origin's older loose commits (see `CommitStore`): what a local write leaves
    /// for later so that its own transaction writes one commit row. Merges pack as they go; the
    /// node runs this on a timer. One pack per transaction, so local writes never wait long; cheap
    /// when there is nothing to pack (two lookups per origin).
    public func packCommits() throws {
        for origin in try versionVector().sorted.map(\.origin) {
            while try writer.write({ db in try CommitStore(db: db).packLoose(origin) }) {}
        }
    }

    /// The chain hash of commit `seq` of `origin` as this replica holds it: for tools that
    /// continue an origin's chain (fuzzing, importers).
    public func chainHash(of origin: NodeID, seq: UInt64) throws -> [UInt8] {
        try writer.read { db in try chainHash(db, origin: origin, seq: seq) }
    }

    /// The chain hash of commit `seq` of `origin` (the genesis hash for 0).
    func chainHash(_ db: Database, origin: NodeID, seq: UInt64) throws -> [UInt8] {
        try CommitStore(db: db).hash(origin, seq: seq)
    }

    /// A new row id (ULID) from this replica's clock and randomness.
    public func makeRowID() -> String {
        let milliseconds = wallClock.now()
        return random.withLock { generator in RowIDGenerator().make(milliseconds: milliseconds, using: &generator) }
    }

    func table(_ name: String) throws -> ReplicatedTable {
        guard let table = tables[name] else {
            throw ReplicaError(.unknownTable, "table '\(name)' is not declared in the conflict policies")
        }
        return table
    }
}

/// A small, fast, seedable random generator (SplitMix64): row ids, and wherever the same seed must
/// give the same sequence (property tests, the demo hospital).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        self.state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
