import GRDB

/// A first-writer-wins write that lost: kept so the losing writer can be told.
public struct LostWrite: Hashable, Sendable {
    /// The table.
    public var table: String
    /// The row id.
    public var key: String
    /// The column.
    public var column: String
    /// The node whose write lost.
    public var loser: NodeID
    /// The node whose write won.
    public var winner: NodeID
}

/// Merges two states of one column under its policy.
///
/// Register policies pick the greater state in a total order, so merging is
/// a join (commutative, associative, idempotent). Keep-both and add-wins
/// sets are the classic multi-value register and ORSWOT joins.
enum ColumnMerge {
    struct Outcome {
        var state: ColumnState
        /// For first-writer-wins: the non-null state that lost, if any.
        var displaced: ColumnState?
    }

    static func merge(_ policy: ColumnPolicy, _ a: ColumnState, _ b: ColumnState) -> Outcome {
        if a == b { return Outcome(state: a) }
        switch (a.meta, b.meta) {
        case (.register(let stampA), .register(let stampB)):
            let aWins = prefers(policy, (a.value, stampA), over: (b.value, stampB))
            let (winner, loser) = aWins ? (a, b) : (b, a)
            let displaced = policy == .firstWriterWins && !loser.value.isNull && loser.value != winner.value ? loser : nil
            return Outcome(state: winner, displaced: displaced)
        case (.multiValue(let stateA), .multiValue(let stateB)):
            return Outcome(state: mergeMultiValue(stateA, stateB))
        case (.set(let stateA), .set(let stateB)):
            return Outcome(state: mergeSet(stateA, stateB))
        default:
            // Shapes disagree only when a row was written under a different policy set;
            // nodes refuse to sync across policy hashes, so keep the deterministic greater encoding.
            let bytesA = RowMetaCodec.canonicalBytes(a), bytesB = RowMetaCodec.canonicalBytes(b)
            return Outcome(state: bytesB.lexicographicallyPrecedes(bytesA) ? a : b)
        }
    }

    /// Whether state `a` beats state `b` under a register policy. A strict total order.
    static func prefers(_ policy: ColumnPolicy, _ a: (DatabaseValue, Stamp), over b: (DatabaseValue, Stamp)) -> Bool {
        let (valueA, stampA) = a, (valueB, stampB) = b
        let valueOrder = ValueOrder.compare(valueA, valueB)
        let newer = stampA.hlc != stampB.hlc ? stampA.hlc > stampB.hlc : (valueOrder != 0 ? valueOrder > 0 : stampA.origin > stampB.origin)
        switch policy {
        case .lastWriterWins, .keepBoth, .addWinsSet:
            return newer
        case .maximum:
            return valueOrder != 0 ? valueOrder > 0 : newer
        case .minimum:
            if valueA.isNull != valueB.isNull { return valueB.isNull }
            return valueOrder != 0 ? valueOrder < 0 : newer
        case .lifecycle:
            let rankA = policy.lifecycleRank(of: String.fromDatabaseValue(valueA))
            let rankB = policy.lifecycleRank(of: String.fromDatabaseValue(valueB))
            return rankA != rankB ? rankA > rankB : newer
        case .firstWriterWins:
            if valueA.isNull != valueB.isNull { return valueB.isNull }
            return !newer
        }
    }

    static func mergeMultiValue(_ a: MultiValueState, _ b: MultiValueState) -> ColumnState {
        var siblings: [Sibling] = []
        let dotsA = Set(a.siblings.map(\.dot)), dotsB = Set(b.siblings.map(\.dot))
        for sibling in a.siblings where dotsB.contains(sibling.dot) || !b.context.covers(sibling.dot) {
            siblings.append(sibling)
        }
        for sibling in b.siblings where !dotsA.contains(sibling.dot) && !a.context.covers(sibling.dot) {
            siblings.append(sibling)
        }
        return multiValueColumn(MultiValueState(siblings: siblings, context: a.context.mergingContext(b.context)))
    }

    /// A keep-both column with its siblings in canonical order and its value the newest sibling's.
    static func multiValueColumn(_ state: MultiValueState) -> ColumnState {
        var state = state
        state.siblings.sort { prefers(.lastWriterWins, ($0.value, $0.stamp), over: ($1.value, $1.stamp)) }
        return ColumnState(value: state.siblings.first?.value ?? .null, meta: .multiValue(state))
    }

    static func mergeSet(_ a: SetState, _ b: SetState) -> ColumnState {
        var elements: [ExactText: Set<Dot>] = [:]
        for element in Set(a.elements.keys).union(b.elements.keys) {
            let dotsA = a.elements[element] ?? [], dotsB = b.elements[element] ?? []
            var kept = dotsA.intersection(dotsB)
            kept.formUnion(dotsA.filter { !b.context.covers($0) })
            kept.formUnion(dotsB.filter { !a.context.covers($0) })
            if !kept.isEmpty { elements[element] = kept }
        }
        let contributors = a.contributors.merging(b.contributors) { ($0.seq, $0.hlc) >= ($1.seq, $1.hlc) ? $0 : $1 }
        return setColumn(SetState(elements: elements, context: a.context.mergingContext(b.context), contributors: contributors))
    }

    static func setColumn(_ state: SetState) -> ColumnState {
        ColumnState(value: SetCodec.encode(state.elements.keys.map(\.text)), meta: .set(state))
    }
}
