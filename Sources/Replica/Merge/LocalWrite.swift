import GRDB

/// What a local write does to a column under each policy.
///
/// A local write is causally after everything the node holds, so it replaces
/// (keep-both, sets) or competes (max, min, lifecycle, first-writer-wins) as its
/// policy says; refusals are errors, so the caller learns at once.
enum LocalWrite {
    static func check(_ value: DatabaseValue, fits column: ColumnDeclaration, table: String) throws {
        if let violation = ValueRules.violation(value, column, table: table) {
            throw ReplicaError(.invalidValue, violation)
        }
    }

    /// The state of a column in a newly inserted row.
    static func initial(_ policy: ColumnPolicy, value: DatabaseValue, stamp: Stamp, table: String, column: String) throws -> ColumnState {
        try update(policy, .unwritten(policy), value: value, stamp: stamp, table: table, column: column)
    }

    static func update(_ policy: ColumnPolicy, _ current: ColumnState, value: DatabaseValue, stamp: Stamp, table: String, column: String) throws -> ColumnState {
        let candidate = ColumnState(value: value, meta: .register(stamp))
        switch (policy, current.meta) {
        case (.lastWriterWins, _):
            return candidate
        case (.maximum, .register(let currentStamp)), (.minimum, .register(let currentStamp)):
            let wins = current.meta == .register(.zero) || ColumnMerge.prefers(policy, (value, stamp), over: (current.value, currentStamp))
            return wins ? candidate : current
        case (.lifecycle, _):
            let from = policy.lifecycleRank(of: String.fromDatabaseValue(current.value))
            let to = policy.lifecycleRank(of: String.fromDatabaseValue(value))
            if current.meta == .register(.zero) { return candidate }
            if to < from {
                throw ReplicaError(
                    .lifecycleRegression,
                    "column '\(column)' of table '\(table)' cannot move back from '\(String.fromDatabaseValue(current.value) ?? "")' to '\(String.fromDatabaseValue(value) ?? "(none)")'"
                )
            }
            return to == from ? current : candidate
        case (.firstWriterWins, _):
            if current.value.isNull { return value.isNull && current.meta != .register(.zero) ? current : candidate }
            if current.value == value { return current }
            throw ReplicaError(.alreadyTaken, "column '\(column)' of table '\(table)' already holds another value (first writer wins)")
        case (.keepBoth, .multiValue(let state)):
            var context = state.context
            for sibling in state.siblings { context.include(sibling.dot) }
            context.include(Dot(origin: stamp.origin, hlc: stamp.hlc))
            return ColumnMerge.multiValueColumn(MultiValueState(siblings: [Sibling(value: value, stamp: stamp)], context: context))
        case (.addWinsSet, .set(let state)):
            let elements = (SetCodec.decode(value) ?? []).uniqueExactly()
            let dot = Dot(origin: stamp.origin, hlc: stamp.hlc)
            var next = state
            for existing in state.elements.values { for old in existing { next.context.include(old) } }
            next.elements = Dictionary(uniqueKeysWithValues: elements.map { ($0, [dot]) })
            next.context.include(dot)
            next.contributors[stamp.origin] = stamp
            return ColumnMerge.setColumn(next)
        default:
            throw ReplicaError(.corruptMetadata, "column '\(column)' of table '\(table)' has metadata of another policy")
        }
    }

    static func add(_ element: String, to state: SetState, stamp: Stamp) -> SetState {
        let dot = Dot(origin: stamp.origin, hlc: stamp.hlc)
        var next = state
        next.elements[ExactText(element)] = [dot]
        next.context.include(dot)
        next.contributors[stamp.origin] = stamp
        return next
    }

    static func remove(_ element: String, from state: SetState, stamp: Stamp) -> SetState? {
        guard state.elements[ExactText(element)] != nil else { return nil }
        var next = state
        next.elements[ExactText(element)] = nil
        next.context.include(Dot(origin: stamp.origin, hlc: stamp.hlc))
        next.contributors[stamp.origin] = stamp
        return next
    }

    /// The newest clock reading a column holds; a local write is stamped after it.
    static func newestReading(_ column: ColumnState) -> HLC {
        switch column.meta {
        case .register(let stamp): stamp.hlc
        case .multiValue(let state): max(state.siblings.map(\.stamp.hlc).max() ?? .zero, state.context.values.max() ?? .zero)
        case .set(let state): state.context.values.max() ?? .zero
        }
    }
}
