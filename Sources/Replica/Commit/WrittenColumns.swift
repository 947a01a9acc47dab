import GRDB

/// The columns one commit wrote to a row, by declared position; positions it did not write are nil.
/// Iterates the written ones in position order.
struct WrittenColumns: Hashable, Sendable, Sequence {
    private var slots: [ColumnState?]

    /// Nothing written yet, for a table of `width` declared columns.
    init(width: Int) {
        slots = Array(repeating: nil, count: width)
    }

    /// The column at a declared position, if written (nil past the declared width).
    subscript(index: Int) -> ColumnState? {
        get { slots.indices.contains(index) ? slots[index] : nil }
        set { slots[index] = newValue }
    }

    /// How many columns were written.
    var count: Int { slots.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }

    var isEmpty: Bool { slots.allSatisfy { $0 == nil } }

    /// Whether every declared column was written.
    var isComplete: Bool { slots.allSatisfy { $0 != nil } }

    /// Appends the written columns' values, in position order.
    func appendValues(to values: inout [DatabaseValue]) {
        for case let column? in slots { values.append(column.value) }
    }

    /// The row whole, when every declared column was written.
    var completeRow: RowState? {
        var columns: [ColumnState] = []
        columns.reserveCapacity(slots.count)
        for slot in slots {
            guard let slot else { return nil }
            columns.append(slot)
        }
        return RowState(columns: columns)
    }

    /// The one stamp of columns that are all registers written by it (a row written whole by one write).
    var uniformStamp: Stamp? {
        var shared: Stamp?
        for case let column? in slots {
            guard case .register(let stamp) = column.meta, shared == nil || shared == stamp else { return nil }
            shared = stamp
        }
        return shared
    }

    func makeIterator() -> some IteratorProtocol<(index: Int, state: ColumnState)> {
        slots.enumerated().lazy.compactMap { position, slot in slot.map { (index: position, state: $0) } }.makeIterator()
    }
}
