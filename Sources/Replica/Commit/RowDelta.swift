import GRDB

/// One row's part of a commit: the columns the commit wrote, each carrying only that commit's
/// writes (its stamps), or the row's tombstone.
///
/// A delta is a fragment of the row's merge state (a δ-state): merging it into any state of the
/// row is the same join as merging whole rows, so deltas from many origins can arrive in any order.
/// Because every stamp in it belongs to the commit, a delta can only speak for its own origin.
struct RowDelta: Hashable, Sendable {
    enum Body: Hashable, Sendable {
        /// Written columns by declared position.
        case columns(WrittenColumns)
        /// The row was deleted by this commit.
        case tombstone(Stamp)
    }

    var table: String
    var key: String
    var body: Body
    /// Whether the commit created the row (wrote it whole, as it was declared then); columns the
    /// writer's declaration did not have yet are unwritten. A row change that is not an insert
    /// never creates a row.
    var isInsert = false
    /// For a ward node's change to a row of an `owned-by` table it did not create in this commit:
    /// the commit whose write of the owner column it saw (the write that put the row in its ward).
    /// Receivers judge the change against that write, which is the same on every node, not against
    /// the row as each of them holds it now.
    var ownerSeen: CommitReference?
}

/// One commit of one origin: (origin, sequence number).
struct CommitReference: Hashable, Sendable {
    var origin: NodeID
    var seq: UInt64
}

/// A commit that breaks a declared rule: the table and the rule, never a value.
struct CommitViolation: Error, Hashable, Sendable {
    var table: String?
    var rule: String

    init(table: String?, _ rule: String) {
        self.table = table
        self.rule = rule
    }
}
