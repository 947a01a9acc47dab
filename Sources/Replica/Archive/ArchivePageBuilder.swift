import GRDB

/// Builds one ``ArchivePage`` from the rows commits touch, in commit order, until its budget.
///
/// Rows are read when a commit first touches them (later touches in the page only move the row's
/// origin and sequence number: the row is archived as it stands now), but not one by one: touches
/// are gathered until ``BatchedRowLookup/capacity`` rows wait to be read, then replayed in order
/// against their batched reads. The replay is what decides, touch by touch, where the page ends,
/// so the page is the same as reading each row on its own would give: it ends before the first
/// touch that finds it holding `maxRows` rows or `maxBytes` bytes of values, inside a commit
/// (``ArchivePage/resume``) or after one.
struct ArchivePageBuilder {
    /// What the gathered commits did, in order, waiting to be replayed.
    private enum Event {
        /// A commit touched row `key`, at `index` of the table in `slot`'s rows; `first` when no
        /// earlier touch of the page did.
        case touch(slot: Int, index: Int, key: String, at: ArchiveCursor, first: Bool, isInsert: Bool)
        /// A commit's touches are all gathered.
        case commitEnd(origin: NodeID, seq: UInt64)
    }

    /// One table's rows in the page.
    private struct TableRows {
        let table: ReplicatedTable
        /// Rows in the order first touched.
        var rows: [ArchivePage.Row] = []
        /// Keys of rows gathered but not read yet, in order.
        var waiting: [String] = []
        var lookup: BatchedRowLookup?
    }

    /// A row of the table in a slot (keys told apart byte for byte, as SQLite does).
    private struct Place: Hashable {
        var slot: Int
        var key: ExactText
    }

    private let db: Database
    private let maxRows: Int
    private let maxBytes: Int
    private var page: ArchivePage
    private var slots: [TableRows] = []
    private var slotOfTable: [Int64: Int] = [:]
    /// Each touched row's index in its table's rows, those waiting to be read included.
    private var place: [Place: Int] = [:]
    private var taken = 0
    private var bytes = 0
    private var events: [Event] = []
    private var waitingCount = 0
    /// Whether the page reached its budget: the next touch ends it.
    private var full = false
    /// Whether the page ended.
    private var ended = false

    init(_ db: Database, marks: VersionVector, maxRows: Int, maxBytes: Int) {
        self.db = db
        self.maxRows = max(maxRows, 1)
        self.maxBytes = maxBytes
        page = ArchivePage(marks: marks)
        // Sized for a full page at once: growing it doubling by doubling rehashed every key
        // (7 % of reading a page of 5,000 rows).
        place.reserveCapacity(min(self.maxRows, 16_384))
    }

    /// Takes a commit's touch of `key` in `table`, at `cursor` in the commit's own order; false
    /// once the page ended (before this touch or an earlier one).
    mutating func touch(_ table: ReplicatedTable, key: String, isInsert: Bool, at cursor: ArchiveCursor) throws -> Bool {
        guard !ended else { return false }
        let slot = slotOfTable[table.id] ?? addSlot(table)
        let place = Place(slot: slot, key: ExactText(key))
        let next = slots[slot].rows.count + slots[slot].waiting.count
        // One hash lookup for a first touch, the common case.
        if let earlier = self.place.updateValue(next, forKey: place) {
            self.place[place] = earlier
            events.append(.touch(slot: slot, index: earlier, key: key, at: cursor, first: false, isInsert: isInsert))
        } else {
            slots[slot].waiting.append(key)
            waitingCount += 1
            events.append(.touch(slot: slot, index: next, key: key, at: cursor, first: true, isInsert: isInsert))
        }
        if full || waitingCount >= BatchedRowLookup.capacity || self.place.count >= maxRows || events.count >= Self.maximumEvents { try replay() }
        return !ended
    }

    /// Marks the end of a commit's touches: the page's marks pass it once the replay gets there.
    mutating func endCommit(origin: NodeID, seq: UInt64) throws {
        guard !ended else { return }
        events.append(.commitEnd(origin: origin, seq: seq))
        if events.count >= Self.maximumEvents { try replay() }
    }

    /// Events gathered at most before a replay: commits that touch rows already in the page (a
    /// status row updated a million times) or no archived table add events but no rows to read,
    /// and must not grow the page's memory beyond its budget.
    static let maximumEvents = 1_024

    /// The page, its tables in `tableOrder`.
    mutating func finish(tableOrder: [TableDeclaration]) throws -> ArchivePage {
        try replay()
        let byName = Dictionary(slots.map { ($0.table.name, $0.rows) }, uniquingKeysWith: { first, _ in first })
        page.tables = tableOrder.compactMap { declaration in byName[declaration.name].flatMap { $0.isEmpty ? nil : (declaration, $0) } }
        return page
    }

    private mutating func addSlot(_ table: ReplicatedTable) -> Int {
        slots.append(TableRows(table: table))
        slotOfTable[table.id] = slots.count - 1
        return slots.count - 1
    }

    /// Reads the waiting rows and replays the gathered events in order, ending the page at the
    /// first touch past its budget.
    private mutating func replay() throws {
        defer {
            events = []
            waitingCount = 0
            for slot in slots.indices { slots[slot].waiting = [] }
        }
        for slot in slots.indices where !slots[slot].waiting.isEmpty {
            let lookup = try slots[slot].lookup ?? BatchedRowLookup(db, table: slots[slot].table)
            slots[slot].lookup = lookup
            try lookup.start(slots[slot].waiting)
        }
        for event in events {
            switch event {
            case .commitEnd(let origin, let seq):
                page.marks[origin] = seq
                page.commits += 1
            case .touch(let slot, let index, let key, let cursor, let first, let isInsert):
                if taken > 0, taken >= maxRows || bytes >= maxBytes {
                    if cursor.offset > 0 { page.resume = cursor }
                    ended = true
                    return
                }
                guard first else {
                    slots[slot].rows[index].origin = cursor.origin
                    slots[slot].rows[index].seq = cursor.seq
                    continue
                }
                guard let lookup = slots[slot].lookup else { continue }
                let current = try lookup.next()
                var row = ArchivePage.Row(key: key, values: current.values, origin: cursor.origin, seq: cursor.seq, stampMilliseconds: 0)
                if let values = current.values { row.stampMilliseconds = RowMetaCodec.newestRegisterMilliseconds(current.meta, values: values, policies: lookup.table.policies) }
                row.isNew = isInsert
                bytes += row.byteCount
                slots[slot].rows.append(row)
                taken += 1
            }
        }
        full = taken >= maxRows || bytes >= maxBytes
    }
}
