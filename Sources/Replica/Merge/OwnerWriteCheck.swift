import GRDB

/// How a ward node's changes to rows of `owned-by` tables stand against the owner writes they name.
enum OwnerWriteVerdict: Equatable {
    /// Every named write put its row in one of the writer's wards.
    case holds
    /// A named commit has not reached this node yet: the commit is held, not applied and not held
    /// against its origin, and tried again when a peer sends it again.
    case waits(CommitReference)
    /// The writer changed a row that was not in its wards, or named a write that does not exist.
    case broken(CommitViolation)
}

extension BatchMerger {
    /// Judges a ward node's changes to rows of `owned-by` tables it did not create (each names
    /// the commit whose owner-column write it saw, ``RowDelta/ownerSeen``): that write must have
    /// put the row in one of the writer's wards. The verdict depends on that one commit, not on
    /// what this node holds of the row now, so every node reaches the same one; a node that lacks
    /// the commit waits for it (causal delivery of exactly what the judgement needs).
    ///
    /// - Parameters:
    ///   - seq: the commit being judged; `segment` is the run it arrived in (an owner write may be
    ///     an earlier commit of the same run, merged but not stored yet).
    mutating func judgeOwnerWrites(
        _ deltas: [RowDelta], seq: UInt64, in segment: ChainSegment,
        identity: OriginIdentity
    ) throws -> OwnerWriteVerdict {
        guard identity.role == .ward else { return .holds }
        for delta in deltas {
            guard let seen = delta.ownerSeen, let table = replica.tables[delta.table],
                let owner = table.declaration.ownerColumn, let index = table.columnIndexes[owner]
            else { continue }
            let sameRun = seen.origin == segment.origin && seen.seq >= segment.firstSeq && seen.seq < seq
            guard sameRun || vector[seen.origin] >= seen.seq else { return .waits(seen) }
            guard let ward = try ownerWrite(seen, table: table, column: index, key: delta.key, run: sameRun ? segment : nil) else {
                return .broken(CommitViolation(table: table.name, "a ward node's change to a row of table '\(table.name)' names a commit that did not write the row's ward"))
            }
            guard identity.mayWrite(forWard: String.fromDatabaseValue(ward)) else {
                return .broken(CommitViolation(table: table.name, "a ward node may change rows of table '\(table.name)' only for the wards its certificate names"))
            }
        }
        return .holds
    }

    /// The value commit `seen` wrote to the owner column of row `key`, or nil when it wrote none.
    /// Usually the row still holds that write; otherwise the commit is read back and decoded.
    private mutating func ownerWrite(
        _ seen: CommitReference, table: ReplicatedTable, column index: Int, key: String,
        run: ChainSegment?
    ) throws -> DatabaseValue? {
        try flushPending()
        if let row = try store.load(table, key: key), case .register(let stamp) = row.columns[index].meta,
            stamp.origin == seen.origin, stamp.seq == seen.seq
        {
            return row.columns[index].value
        }
        let body: [UInt8]
        if let run {
            body = run.bodies[Int(seen.seq - run.firstSeq)]
        } else {
            guard let stored = try CommitStore(db: db).body(seen.origin, seq: seen.seq) else { return nil }
            body = stored
        }
        let deltas: [RowDelta]
        do throws(CommitViolation) {
            deltas = try CommitCodec.decode(body, origin: seen.origin, seq: seen.seq, tables: replica.tables, limits: limits).deltas
        } catch {
            throw ReplicaError(.corruptMetadata, "commit \(seen.seq) of node \(seen.origin), accepted earlier, no longer decodes: \(error.rule)")
        }
        // A commit may write the row more than once: the write that wins is the one a row holding
        // this commit's write shows, so every node reads the same value whichever way it looks.
        var winner: (value: DatabaseValue, stamp: Stamp)?
        // The key compared byte for byte: Swift's `==` would take the write of "X~W-K1" for one of
        // "X~W-\u{212A}1" (a Kelvin sign), another ward's row.
        for delta in deltas where delta.table == table.name && delta.key.isSameID(as: key) {
            guard case .columns(let columns) = delta.body, let written = columns[index], case .register(let stamp) = written.meta,
                stamp.origin == seen.origin, stamp.seq == seen.seq
            else { continue }
            if let best = winner, !ColumnMerge.prefers(.lastWriterWins, (written.value, stamp), over: best) { continue }
            winner = (written.value, stamp)
        }
        return winner?.value
    }
}
