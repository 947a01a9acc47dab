import Foundation
import GRDB

extension Replica {
    /// The commits a replica whose version vector is `remote` lacks, one page at a time.
    ///
    /// Per origin, the page carries the run of commits after the peer's entry, as their origin
    /// made them, with the origin's signature of the chain head at the run's end. This node signs
    /// its own runs where it cuts them; another origin's run can end only where this node holds
    /// that origin's signature (where that origin, or a relay, cut a run it sent here), so a relay
    /// forwards signatures it could never make. Commits of revoked origins are not sent.
    /// - Parameters:
    ///   - remote: the receiver's version vector.
    ///   - cursor: where the previous page stopped (`nil` for the first page).
    ///   - maxChanges: the row changes a page aims at (a commit, or another origin's signed run, goes whole).
    ///   - maxBytes: the commit bytes a page aims at, likewise.
    /// - Returns: the page and the cursor for the next one (`nil` when this was the last).
    public func changes(
        since remote: VersionVector, after cursor: ChangeCursor? = nil, maxChanges: Int = 5_000,
        maxBytes: Int = 4 << 20
    ) throws -> (batch: ChangeBatch, next: ChangeCursor?) {
        try writer.read { db in
            let local = try versionVector(db)
            var page = ChangePage(replica: self, db: db, maxChanges: max(maxChanges, 1), maxBytes: max(maxBytes, 1))
            // A revoked origin's commits go only up to its revocation's cut-off.
            let origins = try local.sorted.compactMap { entry -> (origin: NodeID, seq: UInt64)? in
                let upTo = min(entry.seq, try revocationCutoff(entry.origin, db) ?? entry.seq)
                return upTo > remote[entry.origin] ? (entry.origin, upTo) : nil
            }
            for (position, entry) in origins.enumerated() {
                var after = remote[entry.origin]
                if let cursor {
                    if entry.origin < cursor.origin { continue }
                    if entry.origin == cursor.origin { after = max(after, cursor.covered) }
                }
                if let next = try page.collect(origin: entry.origin, after: after, upTo: entry.seq) {
                    return (page.batch, next)
                }
                if page.isFull, position + 1 < origins.count {
                    let following = origins[position + 1]
                    return (page.batch, ChangeCursor(origin: following.origin, covered: remote[following.origin]))
                }
            }
            return (page.batch, nil)
        }
    }

    /// For a revoked origin, the last of its commits still accepted (and relayed): the revocation
    /// table's `acceptedUpTo` column where it declares one (what central held when it revoked, so
    /// every node ends with the same part of the revoked node's history), else 0. Nil when the
    /// origin is not revoked. Fails closed: an unreadable table throws.
    func revocationCutoff(_ origin: NodeID, _ db: Database) throws -> UInt64? {
        guard let revocationTable, let table = tables[revocationTable] else { return nil }
        let key = table.declaration.primaryKey.quotedDatabaseIdentifier
        let cutoff = table.columnIndexes[Self.revocationCutoffColumn] != nil ? "coalesce(\(Self.revocationCutoffColumn), 0)" : "0"
        let statement = try db.cachedStatement(sql: "SELECT \(cutoff) FROM \(table.name.quotedDatabaseIdentifier) WHERE \(key) = ?")
        guard let row = try Row.fetchOne(statement, arguments: [origin.description]) else { return nil }
        return UInt64(clamping: max(0, row[0] as Int64? ?? 0))
    }

    /// The revocation table's column naming the last accepted commit of the revoked node.
    public static let revocationCutoffColumn = "acceptedUpTo"
}

/// Collects one page of signed commit runs.
private struct ChangePage {
    let replica: Replica
    let db: Database
    let maxChanges: Int
    let maxBytes: Int
    var batch = ChangeBatch()
    var changes = 0
    var bytes = 0

    init(replica: Replica, db: Database, maxChanges: Int, maxBytes: Int) {
        self.replica = replica
        self.db = db
        self.maxChanges = maxChanges
        self.maxBytes = maxBytes
    }

    var isFull: Bool { changes >= maxChanges || bytes >= maxBytes }

    /// What every receiver decodes at most (the batch limit; bytes well under the 64 MiB inflation cap).
    static let hardChanges = ChangeBatch.Limits().maxChanges
    static let hardBytes = 48 << 20

    /// Whether adding this much to a page that already holds something would pass what a receiver takes.
    func wouldOverflow(changes more: Int, bytes moreBytes: Int, runSoFar: Int) -> Bool {
        (runSoFar > 0 || !batch.isEmpty) && (changes + more > Self.hardChanges || bytes + moreBytes > Self.hardBytes)
    }

    /// Adds one origin's commits in (after, upTo]; returns a cursor when the page filled up first.
    mutating func collect(origin: NodeID, after: UInt64, upTo: UInt64) throws -> ChangeCursor? {
        let own = origin == replica.nodeID
        // Where this run may end: anywhere for our own chain, at a held signature otherwise.
        var heads: [UInt64: [UInt8]] = [:]
        if !own {
            for row in try Row.fetchAll(
                db.cachedStatement(sql: "SELECT seq, signature FROM _sf_head WHERE origin = ? AND seq > ? AND seq <= ?"),
                arguments: [origin.databaseValue, Int64(after), Int64(upTo)])
            {
                heads[UInt64(row[0] as Int64)] = Array(row[1] as Data)
            }
            guard !heads.isEmpty else { return nil }
        }
        var commits = try CommitStore(db: db).commits(origin, after: after, upTo: upTo)
        var run: [[UInt8]] = []  // commits ready to send (ending at a signable point)
        var pending: [[UInt8]] = []  // commits read past the last signable point
        var runEnd: (seq: UInt64, hash: [UInt8])?
        var pendingChanges = 0, pendingBytes = 0
        var cut = false
        while let commit = try commits.next() {
            let seq = commit.seq
            let body = commit.body
            if isFull, runEnd != nil || !batch.isEmpty, pending.isEmpty {
                cut = true
                break
            }
            pending.append(body)
            pendingChanges += CommitCodec.changeCount(body)
            pendingBytes += body.count
            // No held signature within what a receiver takes: this run can never be sent whole.
            if pendingBytes > Self.hardBytes || pendingChanges > Self.hardChanges { break }
            if own || heads[seq] != nil {
                if wouldOverflow(changes: pendingChanges, bytes: pendingBytes, runSoFar: run.count) {
                    cut = true
                    pending = []
                    break
                }
                run += pending
                pending = []
                changes += pendingChanges
                bytes += pendingBytes
                pendingChanges = 0
                pendingBytes = 0
                runEnd = (seq, commit.hash)
            }
        }
        guard let end = runEnd else {
            return cut ? ChangeCursor(origin: origin, covered: after) : nil
        }
        let signature =
            own
            ? replica.authority.sign(CommitChain.headStatement(origin: origin, seq: end.seq, hash: end.hash))
            : heads[end.seq]!
        let credential =
            own
            ? replica.authority.credential
            : try Data.fetchOne(
                db.cachedStatement(sql: "SELECT credential FROM _sf_origin WHERE origin = ?"), arguments: [origin.databaseValue]
            ).map(Array.init) ?? []
        batch.segments.append(
            ChainSegment(
                origin: origin, credential: credential, firstSeq: after + 1,
                previousHash: commits.previousHash, bodies: run, signature: signature))
        // Stopped early (page full) with more of this origin to send.
        if cut || (end.seq < upTo && isFull) {
            return ChangeCursor(origin: origin, covered: end.seq)
        }
        return nil
    }
}
