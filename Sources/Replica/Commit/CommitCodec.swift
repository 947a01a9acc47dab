import GRDB

/// The bytes of one commit: what its origin hashes into its chain and every relay forwards untouched.
///
/// ```
/// body    = changeCount varint | change*
/// change  = table text | key text | 0x00 columnCount varint (index varint | column)*   written columns, increasing index
///                                 | 0x02 columnCount varint (index varint | column)*   the row created (unlisted columns unwritten)
///                                 | 0x03 hlc u64le | columnCount varint (index varint | value)*
///                                                       the row created, every column a register of one stamp (the usual insert)
///                                 | 0x04 origin u64le | seq varint | columnCount varint (index varint | column)*
///                                                       written columns, by a ward node, of a row of an `owned-by`
///                                                       table: (origin, seq) is the commit whose write of the owner
///                                                       column the writer saw
///                                 | 0x01 hlc u64le                                      tombstone
/// column  = 0x00 hlc u64le | value                                                     register (every policy but the two below)
///         | 0x01 siblingCount varint (hlc u64le | value)* | context                    keep-both
///         | 0x02 elementCount varint (text | dotCount varint dot*)* | context          add-wins set
///                | contributorCount varint (hlc u64le | origin u64le | seq varint)*
/// context = count varint | dot*
/// dot     = origin u64le | hlc u64le
/// ```
/// Every register and keep-both stamp in a body is the committing origin's with the commit's
/// sequence number: neither is written, so such a commit cannot carry another node's write.
/// A keep-both column carries exactly one sibling (the write). Context entries (what the write
/// supersedes) may name any node but never a reading after the write's own. An add-wins set travels as the
/// writer's whole view of the set (its causal context is a clock per node, which can only say
/// "everything up to here", so a fragment would remove what it does not list); the writer's own
/// contributor entry must be this commit. Authority is judged on the writer. Indexes are declared column positions (columns are only
/// ever appended).
///
/// Every part is self-delimiting, so a node on an older release reads past what a newer one wrote:
/// a change to a table it does not declare, and a column after the ones it declares, are skipped
/// (their bytes still read and bounded) and the commit is reported as partly unread
/// (``SharedSchema``): it is kept whole, relayed whole, and merged again once the node declares more.
enum CommitCodec {
    static func encode(_ deltas: [RowDelta], tables: [String: ReplicatedTable] = [:]) -> [UInt8] {
        var writer = BinaryWriter(capacity: 64 + deltas.count * 96)
        writer.writeVarint(UInt64(deltas.count))
        for delta in deltas { encode(delta, to: &writer) }
        return writer.bytes
    }

    static func encode(_ delta: RowDelta, to writer: inout BinaryWriter) {
        writer.writeString(delta.table)
        writer.writeString(delta.key)
        switch delta.body {
        case .tombstone(let stamp):
            writer.writeByte(1)
            writer.writeFixed64(stamp.hlc.rawValue)
        case .columns(let columns):
            if delta.isInsert, let shared = columns.uniformStamp {
                writer.writeByte(3)
                writer.writeFixed64(shared.hlc.rawValue)
                writer.writeVarint(UInt64(columns.count))
                for (index, column) in columns {
                    writer.writeVarint(UInt64(index))
                    writer.writeValue(column.value)
                }
                return
            }
            if !delta.isInsert, let seen = delta.ownerSeen {
                writer.writeByte(4)
                writer.writeFixed64(seen.origin.rawValue)
                writer.writeVarint(seen.seq)
            } else {
                writer.writeByte(delta.isInsert ? 2 : 0)
            }
            writer.writeVarint(UInt64(columns.count))
            for (index, column) in columns {
                writer.writeVarint(UInt64(index))
                encode(column, to: &writer)
            }
        }
    }

    private static func encode(_ column: ColumnState, to writer: inout BinaryWriter) {
        switch column.meta {
        case .register(let stamp):
            writer.writeByte(0)
            writer.writeFixed64(stamp.hlc.rawValue)
            writer.writeValue(column.value)
        case .multiValue(let state):
            writer.writeByte(1)
            writer.writeVarint(UInt64(state.siblings.count))
            for sibling in state.siblings {
                writer.writeFixed64(sibling.stamp.hlc.rawValue)
                writer.writeValue(sibling.value)
            }
            encode(state.context, to: &writer)
        case .set(let state):
            writer.writeByte(2)
            writer.writeVarint(UInt64(state.elements.count))
            for element in state.elements.keys.sorted() {
                writer.writeString(element.text)
                let dots = state.elements[element]!.sorted()
                writer.writeVarint(UInt64(dots.count))
                for dot in dots {
                    writer.writeFixed64(dot.origin.rawValue)
                    writer.writeFixed64(dot.hlc.rawValue)
                }
            }
            encode(state.context, to: &writer)
            writer.writeVarint(UInt64(state.contributors.count))
            for origin in state.contributors.keys.sorted() {
                let stamp = state.contributors[origin]!
                writer.writeFixed64(stamp.hlc.rawValue)
                writer.writeFixed64(stamp.origin.rawValue)
                writer.writeVarint(stamp.seq)
            }
        }
    }

    private static func encode(_ context: CausalContext, to writer: inout BinaryWriter) {
        writer.writeVarint(UInt64(context.count))
        for origin in context.keys.sorted() {
            writer.writeFixed64(origin.rawValue)
            writer.writeFixed64(context[origin]!.rawValue)
        }
    }

    /// The number of row changes in a body, read from its first varint (0 when malformed).
    /// The most columns a change may name (declared or a later release's).
    static let maximumColumns = 1024

    static func changeCount(_ body: [UInt8]) -> Int {
        var reader = BinaryReader(body)
        return (try? reader.readCount(limit: body.count)) ?? 0
    }

    /// A decoded commit.
    struct Decoded {
        /// Its changes to declared tables and columns.
        var deltas: [RowDelta]
        /// The newest clock reading of the origin's own writes in it.
        var newest: HLC
        /// Whether it changes a table or column not declared here (skipped, not in ``deltas``).
        var hasUnread: Bool
    }

    /// Decodes and checks a commit of `origin` numbered `seq` against the declared tables.
    /// - Returns: the deltas, and the newest clock reading of the origin's own writes in them.
    /// - Throws: ``CommitViolation`` naming the first broken rule (malformed bytes included).
    static func decode(
        _ body: [UInt8], origin: NodeID, seq: UInt64, tables: [String: ReplicatedTable],
        limits: ChangeBatch.Limits
    ) throws(CommitViolation) -> Decoded {
        var decoder = Decoder(reader: BinaryReader(body), origin: origin, seq: seq, tables: tables, limits: limits)
        do throws(MalformedDataError) {
            let count = try decoder.reader.readCount(limit: min(decoder.reader.remaining / 3, limits.maxChanges))
            guard count > 0 else { throw decoder.fail("an empty commit") }
            var deltas: [RowDelta] = []
            deltas.reserveCapacity(count)
            for _ in 0..<count {
                if let delta = try decoder.change() { deltas.append(delta) }
            }
            guard decoder.reader.isAtEnd else { throw MalformedDataError("trailing bytes after the commit") }
            return Decoded(deltas: deltas, newest: decoder.newest, hasUnread: decoder.skipped)
        } catch {
            throw decoder.violation ?? CommitViolation(table: decoder.currentTable, "malformed commit: \(error.reason)")
        }
    }

    /// The rows a stored commit touches (declared tables only), and whether it created each,
    /// without decoding their values: what an archive page needs to know of a commit.
    /// - Throws: ``CommitViolation`` when the bytes are malformed.
    static func touchedRows(
        _ body: [UInt8], origin: NodeID, seq: UInt64, tables: [String: ReplicatedTable]
    ) throws(CommitViolation) -> [(table: String, key: String, isInsert: Bool)] {
        var decoder = Decoder(reader: BinaryReader(body), origin: origin, seq: seq, tables: tables, limits: ChangeBatch.Limits())
        decoder.checksSkippedText = false
        do throws(MalformedDataError) {
            let count = try decoder.reader.readCount(limit: min(decoder.reader.remaining / 3, decoder.limits.maxChanges))
            var rows: [(table: String, key: String, isInsert: Bool)] = []
            rows.reserveCapacity(count)
            for _ in 0..<count {
                if let row = try decoder.touchedRow() { rows.append(row) }
            }
            guard decoder.reader.isAtEnd else { throw MalformedDataError("trailing bytes after the commit") }
            return rows
        } catch {
            throw CommitViolation(table: nil, "malformed commit: \(error.reason)")
        }
    }

    /// Decodes one change; a broken rule is kept in `violation` and surfaces as a malformed-data error.
    private struct Decoder {
        var reader: BinaryReader
        let origin: NodeID
        let seq: UInt64
        let tables: [String: ReplicatedTable]
        let limits: ChangeBatch.Limits
        var newest = HLC.zero
        var currentTable: String?
        var violation: CommitViolation?
        /// Whether a change or column not declared here was read past.
        var skipped = false
        /// Whether text read past is checked for UTF-8 as text read is (merging a commit), or
        /// only stepped over (a stored commit, checked when it was stored: merged, or written here).
        var checksSkippedText = true
        /// The declared table the last change named, by the name's bytes (nil: not declared):
        /// a commit's changes mostly name one table.
        var lastTable: (name: ArraySlice<UInt8>, table: ReplicatedTable?)?

        mutating func fail(_ rule: String) -> MalformedDataError {
            violation = CommitViolation(table: currentTable, rule)
            return MalformedDataError(rule)
        }

        /// A stamp of the committing origin's own write.
        mutating func stamp() throws(MalformedDataError) -> Stamp {
            let hlc = HLC(rawValue: try reader.readFixed64())
            newest = max(newest, hlc)
            return Stamp(hlc: hlc, origin: origin, seq: seq)
        }

        /// Refuses a context that claims to supersede writes after the one carrying it.
        mutating func checkContext(_ context: CausalContext, before own: HLC, column: ColumnDeclaration, table: String) throws(MalformedDataError) {
            if context.values.contains(where: { $0 > own }) {
                throw fail("column '\(column.name)' of table '\(table)' claims to supersede writes after its own")
            }
        }

        /// One change; nil when it is to a table not declared here, or writes only undeclared columns.
        mutating func change() throws(MalformedDataError) -> RowDelta? {
            currentTable = nil
            let declared = try declaredTable()
            let key = try reader.readString()
            guard !key.isEmpty, key.utf8.count <= 128, !key.utf8.contains(where: { $0 == 10 || $0 == 13 || $0 == 0 }) else {
                throw fail("a row id must be 1 to 128 bytes on one line, without NUL")
            }
            guard let table = declared else {
                // A table of a later release: read past it, checked by the nodes that declare it.
                try skipChange()
                skipped = true
                return nil
            }
            currentTable = table.name
            switch try reader.readByte() {
            case 1:
                return RowDelta(table: table.name, key: key, body: .tombstone(try stamp()))
            case 3:
                let stamp = try stamp()
                return try columns(of: table, key: key, isInsert: true, skip: { decoder throws(MalformedDataError) in try decoder.skipValue() }) {
                    decoder, column throws(MalformedDataError) in
                    guard column.policy != .keepBoth, column.policy != .addWinsSet else {
                        throw decoder.fail("column '\(column.name)' of table '\(table.name)' carries metadata of another policy")
                    }
                    return ColumnState(value: try decoder.value(column, table: table.name), meta: .register(stamp))
                }
            case let kind where kind == 0 || kind == 2:
                return try columns(of: table, key: key, isInsert: kind == 2) { decoder, column throws(MalformedDataError) in
                    try decoder.column(column, table: table.name)
                }
            case 4:
                guard table.declaration.ownerColumn != nil else {
                    throw fail("a change names the owner write of a row of table '\(table.name)', which is not owned-by a column")
                }
                let seen = CommitReference(origin: NodeID(try reader.readFixed64()), seq: try reader.readVarint())
                guard seen.seq >= 1, seen.seq <= ChangeBatch.maximumSeq, seen.origin != origin || seen.seq < seq else {
                    throw fail("a change names an owner write that cannot have been seen")
                }
                var delta = try columns(of: table, key: key, isInsert: false) { decoder, column throws(MalformedDataError) in
                    try decoder.column(column, table: table.name)
                }
                delta?.ownerSeen = seen
                return delta
            case let kind:
                throw fail("unknown change kind \(kind)")
            }
        }

        /// The written columns of a row change (positions increasing); an insert's unlisted columns
        /// were declared after its writer made the row, so they are unwritten. Columns after the
        /// declared ones (a later release's) are read past with `skip`; nil when nothing declared is left.
        mutating func columns(
            of table: ReplicatedTable, key: String, isInsert: Bool,
            skip: (inout Decoder) throws(MalformedDataError) -> Void = { decoder throws(MalformedDataError) in try decoder.skipColumn() },
            _ read: (inout Decoder, ColumnDeclaration) throws(MalformedDataError) -> ColumnState
        ) throws(MalformedDataError) -> RowDelta? {
            let declared = table.declaration.columns
            let count = try reader.readCount(limit: min(reader.remaining / 2, CommitCodec.maximumColumns))
            guard count > 0 else { throw fail("a row change writes no column") }
            var columns = WrittenColumns(width: declared.count)
            var previous = -1
            for _ in 0..<count {
                let index = try reader.readCount(limit: CommitCodec.maximumColumns - 1)
                guard index > previous else { throw fail("column positions must increase") }
                previous = index
                guard index < declared.count else {
                    try skip(&self)
                    skipped = true
                    continue
                }
                columns[index] = try read(&self, declared[index])
            }
            guard isInsert || !columns.isEmpty else { return nil }
            if isInsert {
                for (index, column) in declared.enumerated() where columns[index] == nil {
                    if column.notNull { throw fail("column '\(column.name)' of table '\(table.name)' is declared not null") }
                    columns[index] = .unwritten(column.policy)
                }
            }
            return RowDelta(table: table.name, key: key, body: .columns(columns), isInsert: isInsert)
        }

        mutating func value(_ column: ColumnDeclaration, table: String) throws(MalformedDataError) -> DatabaseValue {
            let value = try reader.readValue()
            if let broken = ValueRules.violation(value, column, table: table) { throw fail(broken) }
            return value
        }

        mutating func column(_ column: ColumnDeclaration, table: String) throws(MalformedDataError) -> ColumnState {
            let kind = try reader.readByte()
            switch (column.policy, kind) {
            case (.keepBoth, 1):
                guard try reader.readVarint() == 1 else { throw fail("a keep-both write carries exactly one value") }
                let stamp = try stamp()
                let sibling = Sibling(value: try value(column, table: table), stamp: stamp)
                let read = try readContext()
                try checkContext(read, before: stamp.hlc, column: column, table: table)
                var context = read
                context.include(Dot(origin: origin, hlc: stamp.hlc))
                return ColumnMerge.multiValueColumn(MultiValueState(siblings: [sibling], context: context))
            case (.addWinsSet, 2):
                let count = try reader.readCount(limit: min(reader.remaining, 100_000))
                var elements: [ExactText: Set<Dot>] = [:]
                for _ in 0..<count {
                    let element = ExactText(try reader.readString())
                    let dotCount = try reader.readCount(limit: min(reader.remaining / 16, 1024))
                    guard dotCount > 0 else { throw fail("a set element without an add") }
                    var dots: Set<Dot> = []
                    for _ in 0..<dotCount {
                        let node = NodeID(try reader.readFixed64())
                        dots.insert(Dot(origin: node, hlc: HLC(rawValue: try reader.readFixed64())))
                    }
                    elements[element] = dots
                }
                var context = try readContext()
                for dots in elements.values { for dot in dots { context.include(dot) } }
                let contributorCount = try reader.readCount(limit: min(reader.remaining / 17, 4096))
                var contributors: [NodeID: Stamp] = [:]
                for _ in 0..<contributorCount {
                    let hlc = HLC(rawValue: try reader.readFixed64())
                    let node = NodeID(try reader.readFixed64())
                    let contributorSeq = try reader.readVarint()
                    guard contributorSeq <= ChangeBatch.maximumSeq else { throw fail("a sequence number out of range") }
                    contributors[node] = Stamp(hlc: hlc, origin: node, seq: contributorSeq)
                }
                guard let own = contributors[origin], own.seq == seq else { throw fail("a set write that is not the committing node's") }
                newest = max(newest, own.hlc)
                try checkContext(context, before: own.hlc, column: column, table: table)
                if contributors.values.contains(where: { $0.hlc > own.hlc }) {
                    throw fail("column '\(column.name)' of table '\(table)' claims to supersede writes after its own")
                }
                let state = ColumnMerge.setColumn(SetState(elements: elements, context: context, contributors: contributors))
                if let broken = ValueRules.violation(state.value, column, table: table) { throw fail(broken) }
                return state
            case (.keepBoth, _), (.addWinsSet, _):
                throw fail("column '\(column.name)' of table '\(table)' carries metadata of another policy")
            case (_, 0):
                let stamp = try stamp()
                return ColumnState(value: try value(column, table: table), meta: .register(stamp))
            default:
                throw fail("column '\(column.name)' of table '\(table)' carries metadata of another policy")
            }
        }

        /// Reads past a change to a table not declared here (every kind is self-delimiting).
        mutating func skipChange() throws(MalformedDataError) {
            try skipChange(kind: try reader.readByte())
        }

        /// The row one change touches, and whether it created it; its values read past (a
        /// stored commit, checked when it was stored: merged, or written here). Nil for a table
        /// not declared here.
        mutating func touchedRow() throws(MalformedDataError) -> (table: String, key: String, isInsert: Bool)? {
            let table = try declaredTable()
            let key = try reader.readString()
            let kind = try reader.readByte()
            try skipChange(kind: kind)
            guard let table else { return nil }
            return (table.name, key, kind == 2 || kind == 3)
        }

        /// The declared table a change names (nil when not declared here). A name byte for byte
        /// the last one's is that table again, its length and text already checked.
        private mutating func declaredTable() throws(MalformedDataError) -> ReplicatedTable? {
            let bytes = try reader.readBytes()
            if let last = lastTable, last.name == bytes { return last.table }
            guard let name = bytes.withUnsafeBufferPointer(BinaryReader.validUTF8) else { throw MalformedDataError("text is not valid UTF-8") }
            guard bytes.count <= 128 else { throw fail("a table name longer than any declared") }
            let table = tables[name]
            lastTable = (bytes, table)
            return table
        }

        /// Reads past a value: checked as ``BinaryReader/readValue()`` checks it, unless
        /// ``checksSkippedText`` is off.
        mutating func skipValue() throws(MalformedDataError) {
            if checksSkippedText { _ = try reader.readValue() } else { try reader.skipValue() }
        }

        /// Reads past a text: checked as ``BinaryReader/readString()`` checks it, unless
        /// ``checksSkippedText`` is off.
        mutating func skipText() throws(MalformedDataError) {
            if checksSkippedText { _ = try reader.readString() } else { try reader.skipBytes() }
        }

        /// Reads past a change's body, its kind read.
        mutating func skipChange(kind: UInt8) throws(MalformedDataError) {
            switch kind {
            case 1:
                newest = max(newest, HLC(rawValue: try reader.readFixed64()))
            case 3:
                newest = max(newest, HLC(rawValue: try reader.readFixed64()))
                try skipIndexed { decoder throws(MalformedDataError) in try decoder.skipValue() }
            case 0, 2:
                try skipIndexed { decoder throws(MalformedDataError) in try decoder.skipColumn() }
            case 4:
                _ = try reader.readFixed64()
                _ = try reader.readVarint()
                try skipIndexed { decoder throws(MalformedDataError) in try decoder.skipColumn() }
            case let kind:
                throw fail("unknown change kind \(kind)")
            }
        }

        private mutating func skipIndexed(_ skip: (inout Decoder) throws(MalformedDataError) -> Void) throws(MalformedDataError) {
            let count = try reader.readCount(limit: min(reader.remaining / 2, CommitCodec.maximumColumns))
            guard count > 0 else { throw fail("a row change writes no column") }
            var previous = -1
            for _ in 0..<count {
                let index = try reader.readCount(limit: CommitCodec.maximumColumns - 1)
                guard index > previous else { throw fail("column positions must increase") }
                previous = index
                try skip(&self)
            }
        }

        /// Reads past one column's state of a column not declared here.
        mutating func skipColumn() throws(MalformedDataError) {
            switch try reader.readByte() {
            case 0:
                newest = max(newest, HLC(rawValue: try reader.readFixed64()))
                try skipValue()
            case 1:
                let count = try reader.readCount(limit: min(reader.remaining / 9, 1024))
                for _ in 0..<count {
                    newest = max(newest, HLC(rawValue: try reader.readFixed64()))
                    try skipValue()
                }
                _ = try readContext()
            case 2:
                let count = try reader.readCount(limit: min(reader.remaining, 100_000))
                for _ in 0..<count {
                    try skipText()
                    let dots = try reader.readCount(limit: min(reader.remaining / 16, 1024))
                    for _ in 0..<dots {
                        _ = try reader.readFixed64()
                        _ = try reader.readFixed64()
                    }
                }
                _ = try readContext()
                let contributors = try reader.readCount(limit: min(reader.remaining / 17, 4096))
                var own = false
                for _ in 0..<contributors {
                    let hlc = HLC(rawValue: try reader.readFixed64())
                    let node = NodeID(try reader.readFixed64())
                    let contributorSeq = try reader.readVarint()
                    guard contributorSeq <= ChangeBatch.maximumSeq else { throw fail("a sequence number out of range") }
                    // The writer's own entry stamps the write: it counts toward the clock bound here too.
                    if node == origin, contributorSeq == seq {
                        own = true
                        newest = max(newest, hlc)
                    }
                }
                guard own else { throw fail("a set write that is not the committing node's") }
            case let kind:
                throw fail("unknown column metadata kind \(kind)")
            }
        }

        mutating func readContext() throws(MalformedDataError) -> CausalContext {
            let count = try reader.readCount(limit: min(reader.remaining / 16, 4096))
            var context: CausalContext = [:]
            for _ in 0..<count {
                let node = NodeID(try reader.readFixed64())
                context.include(Dot(origin: node, hlc: HLC(rawValue: try reader.readFixed64())))
            }
            return context
        }
    }
}
