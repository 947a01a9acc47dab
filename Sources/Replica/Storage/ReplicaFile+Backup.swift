import Foundation
import GRDB

extension ReplicaFile {
    /// Copies a consistent snapshot of the replica into `destination` (a new file) with SQLite's
    /// online backup, while the node that owns the replica goes on writing: the copy is taken in one
    /// read transaction, so it holds every commit up to one moment and none after it. An encrypted
    /// replica is copied through the encrypting file layer: every page is authenticated as it is
    /// read and sealed again, with fresh nonces, under `destination`'s key as it is written.
    /// - Returns: the number of pages copied.
    /// - Throws: ``ReplicaError`` when `destination` exists, a GRDB error when either file cannot be used.
    public func backup(to destination: ReplicaFile) throws -> Int {
        guard !FileManager.default.fileExists(atPath: destination.path) else {
            throw ReplicaError(.unsupportedSetting, "\(destination.path) already exists: a backup never writes over a file")
        }
        var sourceConfiguration = Configuration()
        sourceConfiguration.readonly = true
        sourceConfiguration.busyMode = .timeout(10)
        let source = try queue(sourceConfiguration)
        let target = try destination.queue()
        var pages = 0
        try source.backup(to: target) { progress in pages = progress.totalPageCount }
        try target.close()
        try source.close()
        return pages
    }

    /// Gives a restored replica a new origin id: what it writes from now on is numbered afresh under
    /// `newID`, so no commit number its peers already hold under the old id is ever used again
    /// (a restored node that went on numbering where its backup stopped would reuse numbers peers
    /// hold, and their next sync would skip its new commits). The commits it made under the old id
    /// stay, as another origin's: the chain it held is kept whole, with the old credential, and the
    /// commits it made after the backup come back from the peers that hold them.
    ///
    /// The old id's newest commit gets a signed head, signed with the old key: another origin's
    /// commits are relayed only up to a head its origin signed, and without one the commits the
    /// backup holds but no peer received would never leave this replica.
    ///
    /// The replica must not be open anywhere.
    /// - Parameter previous: the old id's signer (its key) and credential (its certificate), which
    ///   peers are sent with its commits.
    /// - Returns: the old origin id.
    /// - Throws: ``ReplicaError`` when the file already belongs to `newID` or `previous` is not the
    ///   identity the file belongs to.
    @discardableResult
    public func transferOrigin(to newID: NodeID, from previous: any CommitAuthority) throws -> NodeID {
        let queue = try self.queue()
        defer { try? queue.close() }
        return try queue.write { db in
            guard let stored = try Int64.fetchOne(db, sql: "SELECT nodeId FROM _sf_node WHERE id = 1").map(NodeID.init(databaseValue:)) else {
                throw ReplicaError(.corruptMetadata, "the file holds no replica")
            }
            guard stored != newID else { throw ReplicaError(.corruptMetadata, "the replica already belongs to node \(newID)") }
            guard previous.identity.nodeID == stored else {
                throw ReplicaError(.corruptMetadata, "the replica belongs to node \(stored), the previous identity given to \(previous.identity.nodeID)")
            }
            // Local commits do not keep `_sf_version` current: the old id's entry becomes its newest stored commit.
            let (newest, hash) = try CommitStore(db: db).head(stored)
            if newest > 0 {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO _sf_head (origin, seq, signature) VALUES (?, ?, ?)",
                    arguments: [
                        stored.databaseValue, Int64(newest), Data(previous.sign(CommitChain.headStatement(origin: stored, seq: newest, hash: hash))),
                    ])
            }
            let clock = max(try Int64.fetchOne(db, sql: "SELECT MAX(hlc) FROM _sf_version") ?? 0, try CommitStore(db: db).newestClock(stored).databaseValue)
            try db.execute(
                sql: """
                    INSERT INTO _sf_version (origin, seq, hlc) VALUES (?, ?, ?)
                    ON CONFLICT (origin) DO UPDATE SET seq = MAX(seq, excluded.seq)
                    """, arguments: [stored.databaseValue, Int64(newest), clock])
            // The new id's clock goes on from the newest reading the old one kept.
            try db.execute(
                sql: "INSERT INTO _sf_version (origin, seq, hlc) VALUES (?, 0, ?) ON CONFLICT (origin) DO UPDATE SET hlc = MAX(hlc, excluded.hlc)",
                arguments: [newID.databaseValue, clock])
            try db.execute(
                sql: "INSERT INTO _sf_origin (origin, credential) VALUES (?, ?) ON CONFLICT (origin) DO UPDATE SET credential = excluded.credential",
                arguments: [stored.databaseValue, Data(previous.credential)])
            try db.execute(sql: "UPDATE _sf_node SET nodeId = ? WHERE id = 1", arguments: [newID.databaseValue])
            return stored
        }
    }
}
