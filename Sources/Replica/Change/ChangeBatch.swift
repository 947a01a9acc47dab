import GRDB

/// A row as one replica sends it to another: its whole state with merge metadata, or its tombstone.
public struct RowChange: Hashable, Sendable {
    /// What the change carries.
    public enum Body: Hashable, Sendable {
        /// The row's column values (in declaration order) and its encoded merge metadata.
        case row(values: [DatabaseValue], meta: [UInt8])
        /// The row was deleted by this write.
        case tombstone(Stamp)
    }

    /// The table name.
    public var table: String
    /// The row id.
    public var key: String
    /// The state or the tombstone.
    public var body: Body

    /// Creates a change.
    public init(table: String, key: String, body: Body) {
        self.table = table
        self.key = key
        self.body = body
    }
}

/// A claim that comes with a batch: applied on top of everything up to `after`
/// from `origin`, the batch brings its receiver up to `upTo`.
public struct Coverage: Hashable, Sendable {
    /// The origin whose commits are covered.
    public var origin: NodeID
    /// The receiver must already hold this origin's commits up to here.
    public var after: UInt64
    /// Then it holds them up to here.
    public var upTo: UInt64

    /// Creates a coverage claim.
    public init(origin: NodeID, after: UInt64, upTo: UInt64) {
        self.origin = origin
        self.after = after
        self.upTo = upTo
    }
}

/// Changes sent in one unit and applied in one transaction: all of it or none of it.
public struct ChangeBatch: Hashable, Sendable {
    /// The rows.
    public var changes: [RowChange]
    /// What the receiver's version vector may advance to once the rows are applied.
    public var coverage: [Coverage]

    /// Creates a batch.
    public init(changes: [RowChange] = [], coverage: [Coverage] = []) {
        self.changes = changes
        self.coverage = coverage
    }

    /// Whether the batch carries neither rows nor coverage.
    public var isEmpty: Bool { changes.isEmpty && coverage.isEmpty }
}

/// Where a paged ``Replica/changes(since:after:maxChanges:)`` stopped.
public struct ChangeCursor: Hashable, Sendable {
    /// The origin being sent when the page was cut.
    public var origin: NodeID
    /// How far the pages so far covered that origin.
    public var covered: UInt64
}

extension RowChange {
    /// A row written once, whole, by one write: the shape of a fresh insert.
    ///
    /// For bulk loaders (an import replayed from another system) and benchmarks that
    /// need many rows without running each insert through a local transaction.
    /// - Parameters:
    ///   - table: the table (must be declared where the change is applied).
    ///   - key: the row id.
    ///   - values: every declared column's value, in declaration order.
    ///   - stamp: the write's clock reading, origin and commit sequence number.
    public static func insert(table: String, key: String, values: [DatabaseValue], stamp: Stamp) -> RowChange {
        let columns = values.map { ColumnState(value: $0, meta: .register(stamp)) }
        return RowChange(table: table, key: key, body: .row(values: values, meta: RowMetaCodec.encode(RowState(columns: columns))))
    }
}
