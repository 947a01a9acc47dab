/// How concurrent writes to one column merge.
///
/// Every kind is a join: merging is commutative, associative and idempotent,
/// so replicas that hold the same writes hold the same value whatever order
/// the writes arrived in. `docs/CONFLICT-POLICIES.md` explains each kind.
public enum ColumnPolicy: Hashable, Sendable {
    /// The write with the highest stamp wins (clock, then value, then node id). The default.
    case lastWriterWins
    /// The first non-null write by clock wins; later ones are kept as losers for notification.
    case firstWriterWins
    /// The greatest value wins (NULL is the least).
    case maximum
    /// The least non-null value wins.
    case minimum
    /// An ordered list of states; the furthest state wins and local writes may not go back.
    case lifecycle([String])
    /// Concurrent writes are all kept as an open conflict until a person resolves it.
    case keepBoth
    /// A set of text elements; an add concurrent with a remove of the same element wins.
    case addWinsSet

    /// The keyword used in policy files.
    public var keyword: String {
        switch self {
        case .lastWriterWins: "last-writer-wins"
        case .firstWriterWins: "first-writer-wins"
        case .maximum: "max"
        case .minimum: "min"
        case .lifecycle: "lifecycle"
        case .keepBoth: "keep-both"
        case .addWinsSet: "add-wins-set"
        }
    }

    /// The canonical text of this policy (keyword and arguments), used for the policy hash.
    var canonicalText: String {
        if case .lifecycle(let states) = self {
            return "lifecycle " + states.joined(separator: " ")
        }
        return keyword
    }

    /// The position of `state` in a lifecycle, or -1 when it is not one of its states (or NULL).
    func lifecycleRank(of value: String?) -> Int {
        guard case .lifecycle(let states) = self, let value else { return -1 }
        // Byte for byte: a look-alike of a state (a Kelvin sign for `K`) is no state.
        return states.firstIndex { $0.isSameID(as: value) } ?? -1
    }
}

/// How a table's rows may change after they are written.
public enum RowPolicy: Hashable, Sendable {
    /// Columns merge by their own policies.
    case mutable
    /// Rows are immutable once written: local updates and deletes are refused,
    /// remote changes to a stored row are rejected and reported.
    case appendOnly
}

/// The SQLite storage type of a declared column.
public enum ColumnType: String, Hashable, Sendable, CaseIterable {
    case text, integer, real, blob
}
