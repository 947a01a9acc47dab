import Foundation
import GRDB

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
/// ```
/// pack.bodies = commitCount varint | rawLength varint | zlib( (length varint | body)* )
/// ```
struct CommitStore {
    let db: Database

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
    /// - Parameter packing: pack the oldest loose ones when enough have gathered (merges do, in the
    ///   same transaction; a local write does not: its transaction stays one commit row, and
    ///   ``packLoose(_:)`` runs later, off the write path).
    func append(origin: NodeID, _ commits: [StoredCommit], packing: Bool = true) throws {
        guard let first = commits.first, let last = commits.last else { return }
        let packed = try newestPacked(origin)
        guard packing, last.seq - packed >= UInt64(Self.packCommits) else {
            for commit in commits { try insertLoose(origin, commit) }
            return
        }
        let run = try looseCommits(origin, after: packed, before: first.seq) + commits
        try db.cachedStatement(sql: "DELETE FROM _sf_commit WHERE origin = ? AND seq > ? AND seq < ?")
            .execute(arguments: [origin.databaseValue, Int64(packed), Int64(first.seq)])
        let closed = try packClosedChunks(origin, run)
        for commit in run[closed...] { try insertLoose(origin, commit) }
    }

    /// Packs an origin's loose commits once a full pack of them has gathered; the rest stay loose.
    func packLoose(_ origin: NodeID) throws {
        let packed = try newestPacked(origin)
        guard try newestSeq(origin) - packed >= UInt64(Self.packCommits) else { return }
        let run = try looseCommits(origin, after: packed, before: UInt64(Int64.max))
        let closed = try packClosedChunks(origin, run)
        guard closed > 0 else { return }
        try db.cachedStatement(sql: "DELETE FROM _sf_commit WHERE origin = ? AND seq > ? AND seq <= ?")
            .execute(arguments: [origin.databaseValue, Int64(packed), Int64(run[closed - 1].seq)])
    }

    /// Packs `run` in chunks of ``packCommits`` commits (or fewer, past ``packBytes``); returns how
    /// many commits went into packs (a last chunk that is not full is left to the caller).
    private func packClosedChunks(_ origin: NodeID, _ run: [StoredCommit]) throws -> Int {
        var start = 0, bytes = 0
        for index in run.indices {
            bytes += run[index].body.count
            if index - start + 1 == Self.packCommits || bytes >= Self.packBytes {
                try insertPack(origin, run[start...index])
                start = index + 1
                bytes = 0
            }
        }
        return start
    }

    private func insertLoose(_ origin: NodeID, _ commit: StoredCommit) throws {
        try db.cachedStatement(sql: "INSERT INTO _sf_commit (origin, seq, hash, body) VALUES (?, ?, ?, ?)")
            .execute(arguments: [origin.databaseValue, Int64(commit.seq), Data(commit.hash), Data(commit.body)])
    }

    private func insertPack(_ origin: NodeID, _ commits: ArraySlice<StoredCommit>) throws {
        var raw = BinaryWriter(capacity: commits.reduce(0) { $0 + $1.body.count + 3 })
        for commit in commits { raw.writeBytes(commit.body) }
        var packed = BinaryWriter(capacity: raw.bytes.count / 4 + 16)
        packed.writeVarint(UInt64(commits.count))
        packed.writeVarint(UInt64(raw.bytes.count))
        packed.writeBytesRaw(Deflate.compress(raw.bytes))
        try db.cachedStatement(sql: "INSERT INTO _sf_commit_pack (origin, lastSeq, firstSeq, hash, bodies) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [origin.databaseValue, Int64(commits.last!.seq), Int64(commits.first!.seq),
                                 Data(commits.last!.hash), Data(packed.bytes)])
    }

    // MARK: - Reading

    /// The newest commit of `origin` held (0 for none).
    func newestSeq(_ origin: NodeID) throws -> UInt64 {
        let loose = try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(seq) FROM _sf_commit WHERE origin = ?"), arguments: [origin.databaseValue])
        if let loose { return UInt64(loose) }
        return try newestPacked(origin)
    }

    /// The number of commits held, of every origin.
    func count() throws -> Int {
        try Int.fetchOne(db, sql: """
            SELECT (SELECT COUNT(*) FROM _sf_commit) + (SELECT COALESCE(SUM(lastSeq - firstSeq + 1), 0) FROM _sf_commit_pack)
            """) ?? 0
    }

    /// The chain hash of commit `seq` of `origin` (the genesis hash for 0).
    func hash(_ origin: NodeID, seq: UInt64) throws -> [UInt8] {
        guard seq > 0 else { return CommitChain.genesis }
        if let loose = try Data.fetchOne(db.cachedStatement(sql: "SELECT hash FROM _sf_commit WHERE origin = ? AND seq = ?"),
                                         arguments: [origin.databaseValue, Int64(seq)]) {
            return Array(loose)
        }
        guard let pack = try pack(origin, containing: seq) else {
            throw ReplicaError(.corruptMetadata, "commit \(seq) of node \(origin) is missing from the chain")
        }
        if pack.lastSeq == seq { return pack.hash }
        var hash = try self.hash(origin, seq: pack.firstSeq - 1)
        for (offset, body) in try pack.bodies(origin).enumerated() {
            let at = pack.firstSeq + UInt64(offset)
            hash = CommitChain.hash(previous: hash, origin: origin, seq: at, body: body)
            if at == seq { return hash }
        }
        throw ReplicaError(.corruptMetadata, "a pack of node \(origin)'s commits is shorter than it says")
    }

    /// The commits of `origin` in (after, upTo], oldest first, read as they are asked for.
    func commits(_ origin: NodeID, after: UInt64, upTo: UInt64) throws -> Cursor {
        try Cursor(store: self, origin: origin, after: after, upTo: upTo)
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

        fileprivate init(store: CommitStore, origin: NodeID, after: UInt64, upTo: UInt64) throws {
            self.origin = origin
            self.after = after
            self.upTo = upTo
            hash = try store.hash(origin, seq: after)
            previousHash = hash
            packs = try Row.fetchCursor(store.db.cachedStatement(sql: """
                SELECT lastSeq, firstSeq, hash, bodies FROM _sf_commit_pack WHERE origin = ? AND lastSeq > ? AND firstSeq <= ? ORDER BY lastSeq
                """), arguments: [origin.databaseValue, Int64(after), Int64(upTo)])
            loose = try Row.fetchCursor(store.db.cachedStatement(sql: "SELECT seq, hash, body FROM _sf_commit WHERE origin = ? AND seq > ? AND seq <= ? ORDER BY seq"),
                                        arguments: [origin.databaseValue, Int64(after), Int64(upTo)])
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
                unpacked = bodies.enumerated().map { (pack.firstSeq + UInt64($0.offset), $0.element) }
                    .filter { $0.0 > after && $0.0 <= upTo }
                position = 0
                // The first pack may start before `after`: the running hash starts there already.
            }
            guard let row = try loose.next() else { return nil }
            let commit = StoredCommit(seq: UInt64(row[0] as Int64), hash: Array(row[1] as Data), body: Array(row[2] as Data))
            hash = commit.hash
            return commit
        }
    }

    // MARK: - Packs

    private func newestPacked(_ origin: NodeID) throws -> UInt64 {
        UInt64(try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(lastSeq) FROM _sf_commit_pack WHERE origin = ?"),
                                  arguments: [origin.databaseValue]) ?? 0)
    }

    private func looseCommits(_ origin: NodeID, after: UInt64, before: UInt64) throws -> [StoredCommit] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT seq, hash, body FROM _sf_commit WHERE origin = ? AND seq > ? AND seq < ? ORDER BY seq"),
                         arguments: [origin.databaseValue, Int64(after), Int64(before)]).map {
            StoredCommit(seq: UInt64($0[0] as Int64), hash: Array($0[1] as Data), body: Array($0[2] as Data))
        }
    }

    private func pack(_ origin: NodeID, containing seq: UInt64) throws -> Pack? {
        let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT lastSeq, firstSeq, hash, bodies FROM _sf_commit_pack WHERE origin = ? AND lastSeq >= ? ORDER BY lastSeq LIMIT 1
            """), arguments: [origin.databaseValue, Int64(seq)])
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
            lastSeq = UInt64(row[0] as Int64)
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
