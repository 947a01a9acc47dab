import Foundation
import GRDB

/// One value in a keep-both column, with the write that produced it.
struct Sibling: Hashable, Sendable {
    var value: DatabaseValue
    var stamp: Stamp

    var dot: Dot { Dot(origin: stamp.origin, hlc: stamp.hlc) }
}

/// What a node has seen of a column: per origin, the latest clock reading.
/// A dot is covered when its origin's entry is at or after its reading.
typealias CausalContext = [NodeID: HLC]

extension Dictionary where Key == NodeID, Value == HLC {
    func covers(_ dot: Dot) -> Bool {
        (self[dot.origin] ?? .zero) >= dot.hlc
    }

    mutating func include(_ dot: Dot) {
        self[dot.origin] = Swift.max(self[dot.origin] ?? .zero, dot.hlc)
    }

    func mergingContext(_ other: CausalContext) -> CausalContext {
        merging(other) { Swift.max($0, $1) }
    }
}

/// A multi-value register (keep-both): the concurrent values and the causal context.
struct MultiValueState: Hashable, Sendable {
    /// Concurrent values, newest stamp first. More than one is an open conflict.
    var siblings: [Sibling]
    /// Every write this state has seen.
    var context: CausalContext
}

/// An add-wins observed-remove set without tombstones (an ORSWOT).
struct SetState: Hashable, Sendable {
    /// Live elements and the add operations (dots) that keep them alive. Elements are told apart
    /// byte for byte: canonically equivalent spellings are two elements.
    var elements: [ExactText: Set<Dot>]
    /// Every add this state has seen; an add it has seen but lacks was removed.
    var context: CausalContext
    /// The latest write per origin that shaped this state (a commit carries a set whole; its own entry says which commit wrote it).
    var contributors: [NodeID: Stamp]
}

/// The merge metadata of one column of one row.
enum ColumnMeta: Hashable, Sendable {
    /// A single winning write (last/first-writer-wins, max, min, lifecycle, append-only rows).
    case register(Stamp)
    /// Concurrent writes kept for a person to resolve.
    case multiValue(MultiValueState)
    /// An add-wins set.
    case set(SetState)
}

/// A column's value and its merge metadata.
struct ColumnState: Hashable, Sendable {
    var value: DatabaseValue
    var meta: ColumnMeta

    /// The state of a column nobody has written (a column added after the row was written).
    static func unwritten(_ policy: ColumnPolicy) -> ColumnState {
        switch policy {
        case .keepBoth:
            ColumnState(value: .null, meta: .multiValue(MultiValueState(siblings: [], context: [:])))
        case .addWinsSet:
            ColumnState(value: SetCodec.encode([]), meta: .set(SetState(elements: [:], context: [:], contributors: [:])))
        default:
            ColumnState(value: .null, meta: .register(.zero))
        }
    }
}

/// The replicated state of a row: a value and metadata per declared column.
struct RowState: Hashable, Sendable {
    var columns: [ColumnState]

    var values: [DatabaseValue] { columns.map(\.value) }
}

/// The text form of an add-wins set column: a JSON array of its elements, sorted.
public enum SetCodec {
    /// Encodes elements as a JSON array in byte order.
    public static func encode(_ elements: some Sequence<String>) -> DatabaseValue {
        text(elements).databaseValue
    }

    /// The text ``encode(_:)`` stores (for records, whose set columns are text properties). The
    /// elements are sorted by their bytes: Swift's own order calls canonically equivalent
    /// spellings equal and would leave their order to chance.
    public static func text(_ elements: some Sequence<String>) -> String {
        let data = (try? JSONEncoder().encode(elements.map(ExactText.init).sorted().map(\.text))) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// Decodes a column value written by ``encode(_:)``; nil when it is not a JSON array of strings.
    public static func decode(_ value: DatabaseValue) -> [String]? {
        switch value.storage {
        case .null: return []
        case .string(let text): return try? JSONDecoder().decode([String].self, from: Data(text.utf8))
        default: return nil
        }
    }
}
