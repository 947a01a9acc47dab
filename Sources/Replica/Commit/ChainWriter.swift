import GRDB

/// Makes one origin's signed commits without a replica: for importers replaying another system's
/// records, benchmarks, and tests that play a peer (honest or not).
///
/// ```swift
/// var chain = ChainWriter(authority: trust, policies: policies)
/// try chain.commit(inserting: [("surveyResponse", id, values)], at: hlc)
/// let batch = ChangeBatch(segments: [chain.segment()])
/// ```
/// Values are checked as a replica checks a local write; ``append(body:)`` takes any bytes, for
/// tests that need a commit a replica would never make.
public struct ChainWriter {
    private let authority: any CommitAuthority
    private let policies: PolicySet
    /// The sequence number of the last commit made.
    public private(set) var seq: UInt64
    private var hash: [UInt8]
    private var pending: [[UInt8]] = []
    /// The chain hash before the first pending commit.
    private var pendingBase: [UInt8]

    /// Starts after commit `seq` (whose chain hash is `hash`) of the authority's node.
    public init(authority: any CommitAuthority, policies: PolicySet, after seq: UInt64 = 0, hash: [UInt8] = CommitChain.genesis) {
        self.authority = authority
        self.policies = policies
        self.seq = seq
        self.hash = hash
        self.pendingBase = hash
    }

    /// Appends a commit inserting whole rows (every declared column, in declaration order), all stamped `hlc`.
    /// - Throws: ``ReplicaError`` for an undeclared table or a value its column does not take.
    public mutating func commit(inserting rows: [(table: String, key: String, values: [DatabaseValue])], at hlc: HLC) throws {
        var deltas: [RowDelta] = []
        deltas.reserveCapacity(rows.count)
        let stamp = Stamp(hlc: hlc, origin: authority.identity.nodeID, seq: seq + 1)
        for row in rows {
            guard let declaration = policies.table(named: row.table) else {
                throw ReplicaError(.unknownTable, "table '\(row.table)' is not declared in the conflict policies")
            }
            guard row.values.count == declaration.columns.count else {
                throw ReplicaError(.invalidValue, "a row of '\(row.table)' needs \(declaration.columns.count) values")
            }
            var columns = WrittenColumns(width: declaration.columns.count)
            for (index, column) in declaration.columns.enumerated() {
                try LocalWrite.check(row.values[index], fits: column, table: row.table)
                columns[index] = try LocalWrite.initial(column.policy, value: row.values[index], stamp: stamp, table: row.table, column: column.name)
            }
            deltas.append(RowDelta(table: row.table, key: row.key, body: .columns(columns), isInsert: true))
        }
        append(body: CommitCodec.encode(deltas, tables: [:]))
    }

    /// Appends a commit changing columns of rows it does not create (last-writer-wins-style
    /// columns only), each change naming the commit whose owner-column write its writer saw, as a
    /// ward node's change to a row of an `owned-by` table must.
    /// - Throws: ``ReplicaError`` for an undeclared table or column, a keep-both or set column, or
    ///   a value its column does not take.
    public mutating func commit(
        updating rows: [(table: String, key: String, values: [String: DatabaseValue], ownerSeen: (origin: NodeID, seq: UInt64)?)],
        at hlc: HLC
    ) throws {
        let stamp = Stamp(hlc: hlc, origin: authority.identity.nodeID, seq: seq + 1)
        var deltas: [RowDelta] = []
        for row in rows {
            guard let declaration = policies.table(named: row.table) else {
                throw ReplicaError(.unknownTable, "table '\(row.table)' is not declared in the conflict policies")
            }
            var columns = WrittenColumns(width: declaration.columns.count)
            for (name, value) in row.values {
                guard let index = declaration.columnIndex(name) else {
                    throw ReplicaError(.unknownColumn, "table '\(row.table)' has no column '\(name)'")
                }
                let column = declaration.columns[index]
                guard column.policy != .keepBoth, column.policy != .addWinsSet else {
                    throw ReplicaError(.wrongPolicy, "column '\(name)' of table '\(row.table)' is not a register")
                }
                try LocalWrite.check(value, fits: column, table: row.table)
                columns[index] = try LocalWrite.initial(column.policy, value: value, stamp: stamp, table: row.table, column: name)
            }
            deltas.append(
                RowDelta(
                    table: row.table, key: row.key, body: .columns(columns),
                    ownerSeen: row.ownerSeen.map { CommitReference(origin: $0.origin, seq: $0.seq) }))
        }
        append(body: CommitCodec.encode(deltas, tables: [:]))
    }

    /// Appends a commit deleting a row.
    public mutating func commit(deleting key: String, from table: String, at hlc: HLC) {
        let stamp = Stamp(hlc: hlc, origin: authority.identity.nodeID, seq: seq + 1)
        append(body: CommitCodec.encode([RowDelta(table: table, key: key, body: .tombstone(stamp))], tables: [:]))
    }

    /// Appends a commit with this body, whatever it holds.
    public mutating func append(body: [UInt8]) {
        seq += 1
        hash = CommitChain.hash(previous: hash, origin: authority.identity.nodeID, seq: seq, body: body)
        pending.append(body)
    }

    /// The commits appended since the last segment, signed at their head.
    public mutating func segment() -> ChainSegment {
        let origin = authority.identity.nodeID
        let bodies = pending, base = pendingBase
        pending = []
        pendingBase = hash
        return ChainSegment(
            origin: origin, credential: authority.credential, firstSeq: seq - UInt64(bodies.count) + 1, previousHash: base,
            bodies: bodies, signature: authority.sign(CommitChain.headStatement(origin: origin, seq: seq, hash: hash)))
    }
}
