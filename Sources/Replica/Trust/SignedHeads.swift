import Foundation
import GRDB
import Logging
import Sodium
import Synchronization

/// A point of an origin's chain with the origin's signature over it: two of them for the same
/// commit number with different hashes prove that the origin signed two histories.
public struct SignedHead: Hashable, Sendable {
    /// The origin.
    public var origin: NodeID
    /// The commit number.
    public var seq: UInt64
    /// The chain hash of that commit.
    public var hash: [UInt8]
    /// The origin's signature of ``CommitChain/headStatement(origin:seq:hash:)``.
    public var signature: [UInt8]

    /// Creates a signed head.
    public init(origin: NodeID, seq: UInt64, hash: [UInt8], signature: [UInt8]) {
        self.origin = origin
        self.seq = seq
        self.hash = hash
        self.signature = signature
    }
}

extension Replica {
    /// The newest signed head this replica holds of each origin (its own signed now), at most
    /// `limit`: what peers compare with their own chains, so that an origin that sent one history
    /// to some nodes and another to others is found out even when their version vectors agree.
    public func signedHeads(limit: Int = 4096) throws -> [SignedHead] {
        try writer.read { db in
            var heads: [SignedHead] = []
            let own = try versionVector(db)[nodeID]
            if own > 0 {
                let hash = try chainHash(db, origin: nodeID, seq: own)
                heads.append(
                    SignedHead(
                        origin: nodeID, seq: own, hash: hash,
                        signature: authority.sign(CommitChain.headStatement(origin: nodeID, seq: own, hash: hash))))
            }
            // SQLite takes the other columns of an aggregate query's MAX() row from that row.
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT origin, MAX(seq), signature FROM _sf_head WHERE origin <> ? GROUP BY origin ORDER BY origin LIMIT ?
                    """, arguments: [nodeID.databaseValue, max(0, limit - heads.count)])
            for row in rows {
                let origin = NodeID(databaseValue: row[0]), seq = UInt64(row[1] as Int64)
                heads.append(SignedHead(origin: origin, seq: seq, hash: try chainHash(db, origin: origin, seq: seq), signature: Array(row[2] as Data)))
            }
            return heads
        }
    }

    /// Compares a peer's signed heads with this replica's chains. A head whose signature verifies
    /// under its origin's key but whose hash differs from the one this replica holds for that
    /// commit proves the origin signed two histories: the origin is quarantined here (its later
    /// commits held; which of its histories each node applied cannot be undone, but it stops).
    /// Heads of origins this replica does not know, or beyond what it holds, or that do not
    /// verify (a lying peer cannot frame an origin), are ignored.
    /// - Returns: the origins found out by these heads (newly quarantined).
    ///
    /// One head per origin is compared, the first it can (a peer holds one newest head of each): a peer cannot make
    /// this node read back more than one stored chain hash per origin it knows. The comparison
    /// reads; only a proof takes the writer.
    @discardableResult
    public func checkSignedHeads(_ heads: [SignedHead]) async throws -> [NodeID] {
        let proofs = try await read { db in try self.proofsOfTwoHistories(in: heads, db) }
        guard !proofs.isEmpty else { return [] }
        let found = try await writer.write { db in try self.quarantine(provenBy: proofs, in: db) }
        for quarantine in found {
            logger.error(
                "quarantined a node: a peer holds another history of it, signed by it",
                metadata: [
                    "replica.origin": "\(quarantine.origin)", "replica.seq": "\(quarantine.seq)",
                ])
        }
        return found.map(\.origin)
    }

    /// The heads that verify under their origin's key yet differ from this replica's chain.
    private func proofsOfTwoHistories(in heads: [SignedHead], _ db: Database) throws -> [SignedHead] {
        let vector = try versionVector(db)
        var proofs: [SignedHead] = [], compared: Set<NodeID> = []
        for head in heads where head.seq >= 1 && head.seq <= vector[head.origin] && head.hash.count == 32 && compared.insert(head.origin).inserted {
            guard try head.hash != chainHash(db, origin: head.origin, seq: head.seq),
                let identity = try storedIdentity(head.origin, db),
                SigningKey.verify(head.signature, of: CommitChain.headStatement(origin: head.origin, seq: head.seq, hash: head.hash), by: identity.publicKey)
            else { continue }
            if head.origin == nodeID {
                logger.critical(
                    "a peer holds a history of this node's commits that this node never made, signed with this node's key: the key has leaked",
                    metadata: [
                        "replica.seq": "\(head.seq)"
                    ])
                continue
            }
            proofs.append(head)
        }
        return proofs
    }

    private func quarantine(provenBy proofs: [SignedHead], in db: Database) throws -> [Quarantine] {
        var found: [Quarantine] = []
        for head in proofs {
            let already = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM _sf_quarantine WHERE origin = ?)", arguments: [head.origin.databaseValue]) ?? true
            guard !already else { continue }
            let quarantine = Quarantine(
                origin: head.origin, seq: head.seq, table: nil,
                rule: "signed two different histories up to commit \(head.seq) (found by comparing signed heads with a peer)",
                seenAt: wallClock.now())
            try db.execute(
                sql: "INSERT OR IGNORE INTO _sf_quarantine (origin, seq, tbl, rule, seenAt) VALUES (?, ?, NULL, ?, ?)",
                arguments: [quarantine.origin.databaseValue, Int64(quarantine.seq), quarantine.rule, Int64(quarantine.seenAt)])
            found.append(quarantine)
        }
        return found
    }

    /// Who `origin` is, from the credential this replica stored (nil when it never met it).
    private func storedIdentity(_ origin: NodeID, _ db: Database) throws -> OriginIdentity? {
        if origin == nodeID { return authority.identity }
        if let cached = identities.withLock({ $0[origin] }) { return cached.identity }
        guard let credential = try Data.fetchOne(db, sql: "SELECT credential FROM _sf_origin WHERE origin = ?", arguments: [origin.databaseValue]) else {
            return nil
        }
        return try? authority.identify(origin: origin, credential: Array(credential))
    }
}
