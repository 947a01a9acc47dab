import Foundation
import GRDB
import Synchronization

/// Where a replica keeps every origin's commits, as their origins made them (what peers are sent
/// and what vouches for every row).
///
/// An origin's newest commits are loose: one `_sf_commit` row each, with its chain hash. Once
/// ``packCommits`` have gathered, the oldest are packed: one `_sf_commit_pack` row holds a run of
/// consecutive commits, compressed together (survey commits differ in a few bytes each), with the
/// chain hash of its last commit. Hashes inside a pack are recomputed from the previous pack's
/// (BLAKE2b over a pack costs far less than storing a hash per commit). An origin's packs hold
/// its commits 1…P and its loose rows P+1…N, so its chain is always whole.
///
/// Both are rowid tables keyed `band << 40 | seq`, where `band` numbers the origin locally
/// (`_sf_commit_origin`): a commit can be megabytes, and a WITHOUT ROWID table would copy whole rows
/// into its interior pages (a lookup then reads them all). A pack's key carries its last number.
///
/// ```
/// pack.bodies = commitCount varint | rawLength varint | zlib( (length varint | body)* )
/// ```
struct CommitStore {
    let db: Database
    /// This node's own band, once known (local writes look it up twice per commit).
    var ownBand: OwnBand?

    init(db: Database, ownBand: OwnBand? = nil) {
        self.db = db
        self.ownBand = ownBand
    }

    /// Commit numbers below 2^40 (a trillion commits of one node), bands below 2^23: keys stay positive.
    static let seqBits: Int64 = 40
    static let maximumSeq = UInt64(1) << 40 - 1
    private static let maximumBand: Int64 = 1 << 23 - 1

    /// An origin's key range.
    fileprivate struct Band {
        var number: Int64

        func key(_ seq: UInt64) -> Int64 { number << CommitStore.seqBits + Int64(seq) }
        var lowest: Int64 { number << CommitStore.seqBits }
        var highest: Int64 { number << CommitStore.seqBits | Int64(CommitStore.maximumSeq) }
        static func seq(_ key: Int64) -> UInt64 { UInt64(key & Int64(CommitStore.maximumSeq)) }
    }

    /// The origin's band, if it has commits here.
    private func band(_ origin: NodeID) throws -> Band? {
        if let known = ownBand?.band(of: origin) { return Band(number: known) }
        let number = try Int64.fetchOne(db.cachedStatement(sql: "SELECT band FROM _sf_commit_origin WHERE origin = ?"), arguments: [origin.databaseValue])
        // Found, it was committed: a band is numbered only by `bandForWriting`, after this lookup
        // found none, and a transaction appends this node's commits once. Bands never change.
        if let number { ownBand?.remember(number, of: origin) }
        return number.map(Band.init)
    }

    /// The origin's band, numbered now if it has none yet.
    private func bandForWriting(_ origin: NodeID) throws -> Band {
        if let band = try band(origin) { return band }
        let next = (try Int64.fetchOne(db, sql: "SELECT MAX(band) FROM _sf_commit_origin") ?? 0) + 1
        guard next <= Self.maximumBand else {
            throw ReplicaError(.invalidValue, "this replica holds commits of more nodes than it can number")
        }
        try db.execute(sql: "INSERT INTO _sf_commit_origin (origin, band) VALUES (?, ?)", arguments: [origin.databaseValue, next])
        return Band(number: next)
    }

    /// A commit as stored: its number in its origin's chain, its chain hash, its bytes.
    struct StoredCommit {
        var seq: UInt64
        var hash: [UInt8]
        var body: [UInt8]
    }

    /// Commits per pack, and the uncompressed bytes after which a pack closes early.
    static let packCommits = 128
    static let packBytes = 256 << 10

    // MARK: - Writing

    /// Appends an origin's next commits (consecutive, continuing what is stored).
    /// - Parameter packing: pack the loose ones once a pack's worth has gathered, by count or by
    ///   bytes (merges do, in the same transaction; a local write does not: its transaction stays one
    ///   commit row, and ``packLoose(_:)`` runs later, off the write path). Because merges pack as
    ///   soon as a pack's worth is loose, what one merge packs is bounded by one pack plus what it
    ///   brings: a merge never inherits a backlog (a 12 MB one once stalled every live commit
    ///   behind it for 200 ms).
    /// - Parameter prepared: packs of these commits made ahead (``PreparedRun``): used where they
    ///   continue the origin's packs and end at one of these commits with its chain hash; what
    ///   they do not cover is packed here.
    func append(origin: NodeID, _ commits: [StoredCommit], packing: Bool = true, prepared: [PreparedPack] = []) throws {
        guard let first = commits.first, let last = commits.last else { return }
        guard last.seq <= Self.maximumSeq else {
            throw ReplicaError(.invalidValue, "commit numbers stop at 2^40")
        }
        let band = try bandForWriting(origin)
        guard packing else {
            for commit in commits { try insertLoose(band, commit) }
            return
        }
        let packed = try newestPacked(band)
        let usable = Self.continuing(prepared, after: packed, commits)
        guard let end = usable.last?.lastSeq else { return try appendPacking(band, commits, packed: packed) }
        // The loose commits before these are in the first pack.
        try db.cachedStatement(sql: "DELETE FROM _sf_commit WHERE id > ? AND id < ?")
            .execute(arguments: [band.key(packed), band.key(first.seq)])
        for pack in usable { try insertPack(band, pack) }
        let rest = commits[Int(end - first.seq + 1)...]
        if !rest.isEmpty { try appendPacking(band, Array(rest), packed: end) }
    }

    /// The prepared packs that continue an origin's packs after `packed`, each ending at one of
    /// `commits` (consecutive) with that commit's chain hash.
    private static func continuing(_ prepared: [PreparedPack], after packed: UInt64, _ commits: [StoredCommit]) -> ArraySlice<PreparedPack> {
        guard let first = commits.first?.seq, let last = commits.last?.seq, packed < first else { return [] }
        var next = packed + 1, count = 0
        for pack in prepared {
            guard pack.firstSeq == next, pack.lastSeq >= first, pack.lastSeq <= last,
                commits[Int(pack.lastSeq - first)].hash == pack.lastHash
            else { break }
            next = pack.lastSeq + 1
            count += 1
        }
        return prepared.prefix(count)
    }

    /// Appends commits continuing `packed` and the loose ones after it, packing once a pack's worth
    /// is loose.
    private func appendPacking(_ band: Band, _ commits: [StoredCommit], packed: UInt64) throws {
        guard let first = commits.first else { return }
        let loose = try looseSize(band, after: packed, before: first.seq)
        let incoming = commits.reduce(0) { $0 + $1.body.count }
        guard Self.fillsAPack(count: loose.count + commits.count, bytes: loose.bytes + incoming) else {
            for commit in commits { try insertLoose(band, commit) }
            return
        }
        let run = try looseCommits(band, after: packed, before: first.seq) + commits
        try db.cachedStatement(sql: "DELETE FROM _sf_commit WHERE id > ? AND id < ?")
            .execute(arguments: [band.key(packed), band.key(first.seq)])
        let closed = try packClosedChunks(band, run)
        for commit in run[closed...] { try insertLoose(band, commit) }
    }

    /// Packs an origin's oldest loose commits, exactly one pack, once a pack's worth (by count or
    /// by bytes) has gathered (a node that was offline for a week may hold thousands: each call
    /// stays short).
    /// - Returns: whether a pack was made (call again for the next).
    @discardableResult
    func packLoose(_ origin: NodeID) throws -> Bool {
        guard let band = try band(origin) else { return false }
        let packed = try newestPacked(band)
        let rows = try Row.fetchCursor(
            db.cachedStatement(sql: "SELECT id, hash, body FROM _sf_commit WHERE id > ? AND id <= ? ORDER BY id LIMIT ?"),
            arguments: [band.key(packed), band.highest, Self.packCommits])
        var run: [StoredCommit] = [], bytes = 0
        while !Self.fillsAPack(count: run.count, bytes: bytes), let row = try rows.next() {
            run.append(StoredCommit(seq: Band.seq(row[0]), hash: Array(row[1] as Data), body: Array(row[2] as Data)))
            bytes += run[run.count - 1].body.count
        }
        guard let last = run.last, Self.fillsAPack(count: run.count, bytes: bytes) else { return false }
        try insertPack(band, run[...])
        try db.cachedStatement(sql: "DELETE FROM _sf_commit WHERE id > ? AND id <= ?")
            .execute(arguments: [band.key(packed), band.key(last.seq)])
        return true
    }

    /// Whether `count` commits of `bytes` body bytes make a pack.
    static func fillsAPack(count: Int, bytes: Int) -> Bool {
        count >= packCommits || bytes >= packBytes
    }

    /// Packs `run` in chunks of ``packCommits`` commits (or fewer, past ``packBytes``); returns how
    /// many commits went into packs (a last chunk that is not full is left to the caller).
    private func packClosedChunks(_ band: Band, _ run: [StoredCommit]) throws -> Int {
        var start = 0, bytes = 0
        for index in run.indices {
            bytes += run[index].body.count
            if Self.fillsAPack(count: index - start + 1, bytes: bytes) {
                try insertPack(band, run[start...index])
                start = index + 1
                bytes = 0
            }
        }
        return start
    }

    private func insertLoose(_ band: Band, _ commit: StoredCommit) throws {
        try db.cachedStatement(sql: "INSERT INTO _sf_commit (id, hash, body) VALUES (?, ?, ?)")
            .execute(arguments: [band.key(commit.seq), Data(commit.hash), Data(commit.body)])
    }

    private func insertPack(_ band: Band, _ commits: ArraySlice<StoredCommit>) throws {
        guard let first = commits.first, let last = commits.last else { return }
        var raw = BinaryWriter(capacity: commits.reduce(0) { $0 + $1.body.count + 3 })
        for commit in commits { raw.writeBytes(commit.body) }
        try insertPack(
            band, PreparedPack(firstSeq: first.seq, lastSeq: last.seq, lastHash: last.hash, bodies: PackBuilder.encode(count: commits.count, raw: raw.bytes)))
    }

    private func insertPack(_ band: Band, _ pack: PreparedPack) throws {
        try db.cachedStatement(sql: "INSERT INTO _sf_commit_pack (id, firstSeq, hash, bodies) VALUES (?, ?, ?, ?)")
            .execute(arguments: [band.key(pack.lastSeq), Int64(pack.firstSeq), Data(pack.lastHash), Data(pack.bodies)])
    }

    /// The loose commits `origin` holds before commit `seq` (which continues what it holds), where
    /// a run starting at `seq` has its first pack start.
    func packLead(_ origin: NodeID, before seq: UInt64) throws -> PackLead {
        guard let band = try band(origin) else { return PackLead(firstSeq: 1, bodies: []) }
        let packed = try newestPacked(band)
        return PackLead(firstSeq: packed + 1, bodies: try looseCommits(band, after: packed, before: seq).map(\.body))
    }

    // MARK: - Reading

    /// The newest commit of `origin` held (0 for none).
    func newestSeq(_ origin: NodeID) throws -> UInt64 {
        guard let band = try band(origin) else { return 0 }
        return try head(band).seq
    }

    /// The newest clock reading among `origin`'s own writes in its newest commit held (zero for
    /// none): what a clock must not go back before, whichever declarations read the commit (its
    /// stamps are read past table by table, no declaration needed).
    func newestClock(_ origin: NodeID) throws -> HLC {
        let newest = try newestSeq(origin)
        guard newest > 0, let body = try body(origin, seq: newest) else { return .zero }
        return (try? CommitCodec.decode(body, origin: origin, seq: newest, tables: [:], limits: ChangeBatch.Limits()).newest) ?? .zero
    }

    /// The newest commit of `origin` held and its chain hash ((0, genesis) for none): where a
    /// new commit continues the chain.
    func head(_ origin: NodeID) throws -> (seq: UInt64, hash: [UInt8]) {
        guard let band = try band(origin) else { return (0, CommitChain.genesis) }
        return try head(band)
    }

    private func head(_ band: Band) throws -> (seq: UInt64, hash: [UInt8]) {
        let range: StatementArguments = [band.lowest, band.highest]
        let loose = try Row.fetchOne(db.cachedStatement(sql: "SELECT id, hash FROM _sf_commit WHERE id BETWEEN ? AND ? ORDER BY id DESC LIMIT 1"), arguments: range)
        let packed =
            loose == nil
            ? try Row.fetchOne(db.cachedStatement(sql: "SELECT id, hash FROM _sf_commit_pack WHERE id BETWEEN ? AND ? ORDER BY id DESC LIMIT 1"), arguments: range)
            : nil
        guard let row = loose ?? packed else { return (0, CommitChain.genesis) }
        return (Band.seq(row[0]), Array(row[1] as Data))
    }

    /// The number of commits held, of every origin.
    /// Every origin this store holds commits of, with its newest commit's sequence number.
    func newestSeqs() throws -> [NodeID: UInt64] {
        var newest: [NodeID: UInt64] = [:]
        for origin in try Int64.fetchAll(db, sql: "SELECT origin FROM _sf_commit_origin").map(NodeID.init(databaseValue:)) {
            newest[origin] = try newestSeq(origin)
        }
        return newest
    }

    func count() throws -> Int {
        try Int.fetchOne(
            db,
            sql: """
                SELECT (SELECT COUNT(*) FROM _sf_commit) + (SELECT COALESCE(SUM((id & ?) - firstSeq + 1), 0) FROM _sf_commit_pack)
                """, arguments: [Int64(Self.maximumSeq)]) ?? 0
    }

    /// The chain hash of commit `seq` of `origin` (the genesis hash for 0).
    func hash(_ origin: NodeID, seq: UInt64) throws -> [UInt8] {
        guard seq > 0 else { return CommitChain.genesis }
        guard let band = try band(origin), seq <= Self.maximumSeq else { throw missing(origin, seq) }
        return try hash(band, origin, seq: seq)
    }

    fileprivate func hash(_ band: Band, _ origin: NodeID, seq: UInt64) throws -> [UInt8] {
        guard seq > 0 else { return CommitChain.genesis }
        if let loose = try Data.fetchOne(db.cachedStatement(sql: "SELECT hash FROM _sf_commit WHERE id = ?"), arguments: [band.key(seq)]) {
            return Array(loose)
        }
        guard let pack = try pack(band, containing: seq) else { throw missing(origin, seq) }
        if pack.lastSeq == seq { return pack.hash }
        var hash = try self.hash(band, origin, seq: pack.firstSeq - 1)
        for (offset, body) in try pack.bodies(origin).enumerated() {
            let at = pack.firstSeq + UInt64(offset)
            hash = CommitChain.hash(previous: hash, origin: origin, seq: at, body: body)
            if at == seq { return hash }
        }
        throw ReplicaError(.corruptMetadata, "a pack of node \(origin)'s commits is shorter than it says")
    }

    private func missing(_ origin: NodeID, _ seq: UInt64) -> ReplicaError {
        ReplicaError(.corruptMetadata, "commit \(seq) of node \(origin) is missing from the chain")
    }

    /// The body of commit `seq` of `origin`, when held.
    func body(_ origin: NodeID, seq: UInt64) throws -> [UInt8]? {
        guard seq >= 1 else { return nil }
        var commits = try commits(origin, after: seq - 1, upTo: seq)
        return try commits.next()?.body
    }

    /// The commits of `origin` in (after, upTo], oldest first, read as they are asked for.
    func commits(_ origin: NodeID, after: UInt64, upTo: UInt64) throws -> Cursor {
        let band = try band(origin)
        guard let band, upTo <= Self.maximumSeq, after < upTo else {
            if upTo > after { throw missing(origin, after + 1) }
            return try Cursor(store: self, origin: origin, band: Band(number: 0), after: after, upTo: after)
        }
        return try Cursor(store: self, origin: origin, band: band, after: after, upTo: upTo)
    }

    /// Reads an origin's commits in order: from packs, then loose rows.
    struct Cursor {
        private let origin: NodeID
        private let after: UInt64
        private let upTo: UInt64
        private var hash: [UInt8]
        /// The chain hash before the first commit read (of commit `after`).
        let previousHash: [UInt8]
        private var packs: RowCursor
        private var loose: RowCursor
        private var unpacked: [(seq: UInt64, body: [UInt8])] = []
        private var position = 0
        private var packsDone = false
        /// The last commit of the pack being read, and the hash stored for it: what the recomputed chain must reach.
        private var packEnd: (seq: UInt64, hash: [UInt8])?

        fileprivate init(store: CommitStore, origin: NodeID, band: Band, after: UInt64, upTo: UInt64) throws {
            self.origin = origin
            self.after = after
            self.upTo = upTo
            hash = band.number == 0 ? CommitChain.genesis : try store.hash(band, origin, seq: after)
            previousHash = hash
            // Packs that end after `after` and start by `upTo`: the one holding after + 1 is the first.
            packs = try Row.fetchCursor(
                store.db.cachedStatement(
                    sql: """
                        SELECT id, firstSeq, hash, bodies FROM _sf_commit_pack WHERE id > ? AND id <= ? AND firstSeq <= ? ORDER BY id
                        """), arguments: [band.key(after), band.highest, Int64(upTo)])
            loose = try Row.fetchCursor(
                store.db.cachedStatement(sql: "SELECT id, hash, body FROM _sf_commit WHERE id > ? AND id <= ? ORDER BY id"),
                arguments: [band.key(after), band.key(upTo)])
        }

        /// The next commit, or nil after the last.
        mutating func next() throws -> StoredCommit? {
            while !packsDone {
                if position < unpacked.count {
                    let (seq, body) = unpacked[position]
                    position += 1
                    hash = CommitChain.hash(previous: hash, origin: origin, seq: seq, body: body)
                    if let packEnd, packEnd.seq == seq, packEnd.hash != hash {
                        throw ReplicaError(.corruptMetadata, "the stored commits of node \(origin) up to \(seq) do not chain to their stored hash")
                    }
                    return StoredCommit(seq: seq, hash: hash, body: body)
                }
                guard let row = try packs.next() else {
                    packsDone = true
                    break
                }
                let pack = Pack(row)
                packEnd = (pack.lastSeq, pack.hash)
                let bodies = try pack.bodies(origin)
                // The first pack may start before `after`: the running hash starts there already.
                unpacked = bodies.enumerated().map { (pack.firstSeq + UInt64($0.offset), $0.element) }
                    .filter { $0.0 > after && $0.0 <= upTo }
                position = 0
            }
            guard let row = try loose.next() else { return nil }
            let commit = StoredCommit(seq: Band.seq(row[0]), hash: Array(row[1] as Data), body: Array(row[2] as Data))
            hash = commit.hash
            return commit
        }
    }

    // MARK: - Packs

    private func newestPacked(_ band: Band) throws -> UInt64 {
        let newest = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT MAX(id) FROM _sf_commit_pack WHERE id BETWEEN ? AND ?"),
            arguments: [band.lowest, band.highest])
        return newest.map(Band.seq) ?? 0
    }

    /// How many loose commits lie between `after` and `before`, and their body bytes (`length()`
    /// of a blob does not read its overflow pages).
    private func looseSize(_ band: Band, after: UInt64, before: UInt64) throws -> (count: Int, bytes: Int) {
        let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT count(*), coalesce(sum(length(body)), 0) FROM _sf_commit WHERE id > ? AND id < ?"),
            arguments: [band.key(after), band.key(before)])
        return (row?[0] ?? 0, row?[1] ?? 0)
    }

    private func looseCommits(_ band: Band, after: UInt64, before: UInt64) throws -> [StoredCommit] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT id, hash, body FROM _sf_commit WHERE id > ? AND id < ? ORDER BY id"),
            arguments: [band.key(after), band.key(before)]
        ).map {
            StoredCommit(seq: Band.seq($0[0]), hash: Array($0[1] as Data), body: Array($0[2] as Data))
        }
    }

    private func pack(_ band: Band, containing seq: UInt64) throws -> Pack? {
        let row = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT id, firstSeq, hash, bodies FROM _sf_commit_pack WHERE id >= ? AND id <= ? ORDER BY id LIMIT 1
                    """), arguments: [band.key(seq), band.highest])
        guard let row else { return nil }
        let pack = Pack(row)
        return pack.firstSeq <= seq ? pack : nil
    }

    /// One `_sf_commit_pack` row.
    private struct Pack {
        var lastSeq: UInt64
        var firstSeq: UInt64
        var hash: [UInt8]
        var packed: [UInt8]

        init(_ row: Row) {
            lastSeq = Band.seq(row[0])
            firstSeq = UInt64(row[1] as Int64)
            hash = Array(row[2] as Data)
            packed = Array(row[3] as Data)
        }

        /// The pack's commit bodies, oldest first.
        func bodies(_ origin: NodeID) throws -> [[UInt8]] {
            let expected = Int(clamping: lastSeq - firstSeq + 1)
            do throws(MalformedDataError) {
                var reader = BinaryReader(packed)
                let count = try reader.readCount(limit: Self.maximumCommits)
                let rawLength = try reader.readCount(limit: Self.maximumRawBytes)
                guard count == expected, let raw = Deflate.decompress(try reader.readFixedBytes(reader.remaining), expectedCount: rawLength) else {
                    throw MalformedDataError("does not inflate to what it says")
                }
                var bodies = BinaryReader(raw)
                var result: [[UInt8]] = []
                result.reserveCapacity(count)
                for _ in 0..<count { result.append(Array(try bodies.readBytes())) }
                guard bodies.isAtEnd else { throw MalformedDataError("trailing bytes") }
                return result
            } catch {
                throw ReplicaError(.corruptMetadata, "the pack of node \(origin)'s commits \(firstSeq)…\(lastSeq) is corrupt: \(error.reason)")
            }
        }

        /// Bounds for reading a pack back: what ``CommitStore/append(origin:_:)`` can have written.
        static let maximumCommits = CommitStore.packCommits
        static let maximumRawBytes = CommitStore.packBytes + Replica.maximumCommitBytes + CommitStore.packCommits * 10
    }
}

/// This node's band in the commit store, remembered once read (it never changes once committed).
final class OwnBand: Sendable {
    private let origin: NodeID
    private let number = Mutex<Int64?>(nil)

    init(origin: NodeID) {
        self.origin = origin
    }

    func band(of origin: NodeID) -> Int64? {
        origin == self.origin ? number.withLock { $0 } : nil
    }

    func remember(_ band: Int64, of origin: NodeID) {
        guard origin == self.origin else { return }
        number.withLock { $0 = band }
    }
}
