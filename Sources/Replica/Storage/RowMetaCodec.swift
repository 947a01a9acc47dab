import GRDB

/// Encodes a row's merge metadata compactly: stored in each replicated row's
/// `_sf_meta` column. It never crosses the wire: commit bodies (`CommitCodec`) carry
/// only each commit's own writes.
///
/// ```
/// uniform form (every column a register with the same stamp, the usual case):
///   0x01 | stamp
/// general form:
///   0x02 | stampCount varint | stamp* | columnCount varint | column*
///   column = 0x00 stampIndex                                  register
///          | 0x01 n (value stampIndex)* context               keep-both
///          | 0x02 n (text m dot*)* context k stampIndex*      add-wins set
///   stamp   = hlc u64le | origin u64le | seq varint
///   dot     = origin u64le | hlc u64le
///   context = n (origin u64le | hlc u64le)*
/// ```
/// Sibling values are stored in the metadata; a register's value lives in its column.
enum RowMetaCodec {
    static func encode(_ row: RowState) -> [UInt8] {
        if let uniform = uniformStamp(row) { return encodeUniform(uniform) }
        var writer = BinaryWriter(capacity: 32)
        var stampIndex: [Stamp: Int] = [:]
        var stamps: [Stamp] = []
        func index(_ stamp: Stamp) -> Int {
            if let known = stampIndex[stamp] { return known }
            stampIndex[stamp] = stamps.count
            stamps.append(stamp)
            return stamps.count - 1
        }
        var body = BinaryWriter(capacity: 32)
        body.writeVarint(UInt64(row.columns.count))
        for column in row.columns {
            switch column.meta {
            case .register(let stamp):
                body.writeByte(0)
                body.writeVarint(UInt64(index(stamp)))
            case .multiValue(let state):
                body.writeByte(1)
                body.writeVarint(UInt64(state.siblings.count))
                for sibling in state.siblings {
                    body.writeValue(sibling.value)
                    body.writeVarint(UInt64(index(sibling.stamp)))
                }
                write(state.context, to: &body)
            case .set(let state):
                body.writeByte(2)
                body.writeVarint(UInt64(state.elements.count))
                for element in state.elements.keys.sorted() {
                    body.writeString(element.text)
                    let dots = state.elements[element]!.sorted()
                    body.writeVarint(UInt64(dots.count))
                    for dot in dots {
                        body.writeFixed64(dot.origin.rawValue)
                        body.writeFixed64(dot.hlc.rawValue)
                    }
                }
                write(state.context, to: &body)
                let contributors = state.contributors.keys.sorted().map { state.contributors[$0]! }
                body.writeVarint(UInt64(contributors.count))
                for stamp in contributors {
                    body.writeVarint(UInt64(index(stamp)))
                }
            }
        }
        writer.writeByte(2)
        writer.writeVarint(UInt64(stamps.count))
        for stamp in stamps {
            write(stamp, to: &writer)
        }
        var bytes = writer.bytes
        bytes.append(contentsOf: body.bytes)
        return bytes
    }

    /// The metadata of a row every column of which one write wrote (the uniform form), as
    /// ``encode(_:)`` writes it for such a row.
    static func encodeUniform(_ stamp: Stamp) -> [UInt8] {
        var writer = BinaryWriter(capacity: 28)
        writer.writeByte(1)
        write(stamp, to: &writer)
        return writer.bytes
    }

    /// The newest register stamp of a row's columns, in hybrid clock milliseconds; 0 when its
    /// metadata does not decode or it holds none. The uniform form is read without decoding the
    /// row (an archive page asks this of every row it takes); rows with a set column decode in
    /// full, since a set value that is not a JSON array fails their decoding.
    /// - Parameter policies: the declared columns' policies, in order (as many as the row has
    ///   values, or more: the metadata of an earlier release's row).
    static func newestRegisterMilliseconds(_ bytes: [UInt8], values: [DatabaseValue], policies: [ColumnPolicy]) -> UInt64 {
        let written = policies.prefix(values.count)
        if bytes.first == 1, !written.contains(.addWinsSet) {
            var reader = BinaryReader(bytes)
            _ = try? reader.readByte()
            guard let stamp = try? readStamp(&reader), reader.isAtEnd, values.count == written.count else { return 0 }
            return written.contains { $0 != .keepBoth } ? stamp.hlc.milliseconds : 0
        }
        guard let state = try? decode(bytes, values: values, widenedTo: policies) else { return 0 }
        return state.columns.reduce(0) { newest, column in
            if case .register(let stamp) = column.meta { return max(newest, stamp.hlc.milliseconds) }
            return newest
        }
    }

    /// Decodes metadata and joins it with the row's column values.
    /// - Parameter policies: the declared columns' policies, in order.
    static func decode(_ bytes: [UInt8], values: [DatabaseValue], policies: [ColumnPolicy]) throws(MalformedDataError) -> RowState {
        var reader = BinaryReader(bytes)
        let state = try decode(from: &reader, values: values, policies: policies)
        guard reader.isAtEnd else { throw MalformedDataError("trailing bytes after row metadata") }
        return state
    }

    /// Decodes metadata written for the first `values.count` of `policies`' columns (by a node on
    /// an earlier release, or stored before later columns were declared): the later ones read
    /// unwritten, as on a node that declared them all along.
    static func decode(_ bytes: [UInt8], values: [DatabaseValue], widenedTo policies: [ColumnPolicy]) throws(MalformedDataError) -> RowState {
        var state = try decode(bytes, values: values, policies: Array(policies.prefix(values.count)))
        state.columns += policies.dropFirst(values.count).map(ColumnState.unwritten)
        return state
    }

    static func decode(from reader: inout BinaryReader, values: [DatabaseValue], policies: [ColumnPolicy]) throws(MalformedDataError) -> RowState {
        guard values.count == policies.count else { throw MalformedDataError("column count mismatch") }
        switch try reader.readByte() {
        case 1:
            let stamp = try readStamp(&reader)
            var columns: [ColumnState] = []
            columns.reserveCapacity(values.count)
            for (value, policy) in zip(values, policies) {
                columns.append(try registerColumn(value, stamp, policy))
            }
            return RowState(columns: columns)

        case 2:
            let stampCount = try reader.readCount(limit: reader.remaining / 17)
            var stamps: [Stamp] = []
            stamps.reserveCapacity(stampCount)
            for _ in 0..<stampCount {
                stamps.append(try readStamp(&reader))
            }
            func stamp() throws(MalformedDataError) -> Stamp {
                let index = try reader.readCount(limit: max(stamps.count - 1, 0))
                guard index < stamps.count else { throw MalformedDataError("stamp index out of range") }
                return stamps[index]
            }
            let columnCount = try reader.readCount(limit: policies.count)
            // Columns declared after the row was written have never been written.
            var columns = policies.map(ColumnState.unwritten)
            for index in 0..<columnCount {
                let policy = policies[index]
                switch try reader.readByte() {
                case 0:
                    columns[index] = try registerColumn(values[index], try stamp(), policy)
                case 1:
                    guard policy == .keepBoth else { throw MalformedDataError("keep-both metadata on another policy") }
                    let count = try reader.readCount(limit: reader.remaining)
                    var siblings: [Sibling] = []
                    for _ in 0..<count {
                        let value = try reader.readValue()
                        siblings.append(Sibling(value: value, stamp: try stamp()))
                    }
                    let context = try readContext(&reader)
                    columns[index] = ColumnMerge.multiValueColumn(MultiValueState(siblings: siblings, context: context))
                case 2:
                    guard policy == .addWinsSet else { throw MalformedDataError("set metadata on another policy") }
                    let count = try reader.readCount(limit: reader.remaining)
                    var elements: [ExactText: Set<Dot>] = [:]
                    for _ in 0..<count {
                        let element = ExactText(try reader.readString())
                        let dotCount = try reader.readCount(limit: reader.remaining / 16)
                        var dots: Set<Dot> = []
                        for _ in 0..<dotCount {
                            let origin = NodeID(try reader.readFixed64())
                            dots.insert(Dot(origin: origin, hlc: HLC(rawValue: try reader.readFixed64())))
                        }
                        guard !dots.isEmpty else { throw MalformedDataError("set element without an add") }
                        elements[element] = dots
                    }
                    let context = try readContext(&reader)
                    let contributorCount = try reader.readCount(limit: reader.remaining)
                    var contributors: [NodeID: Stamp] = [:]
                    for _ in 0..<contributorCount {
                        let contributor = try stamp()
                        contributors[contributor.origin] = contributor
                    }
                    columns[index] = ColumnMerge.setColumn(SetState(elements: elements, context: context, contributors: contributors))
                case let kind:
                    throw MalformedDataError("unknown column metadata kind \(kind)")
                }
            }
            return RowState(columns: columns)
        case let format:
            throw MalformedDataError("unknown row metadata format \(format)")
        }
    }

    /// Bytes that order column states deterministically when nothing else can.
    static func canonicalBytes(_ column: ColumnState) -> [UInt8] {
        var writer = BinaryWriter()
        writer.writeValue(column.value)
        return writer.bytes + encode(RowState(columns: [column]))
    }

    private static func registerColumn(_ value: DatabaseValue, _ stamp: Stamp, _ policy: ColumnPolicy) throws(MalformedDataError) -> ColumnState {
        switch policy {
        case .keepBoth:
            // A keep-both column written once: one sibling.
            let siblings = stamp.seq == 0 ? [] : [Sibling(value: value, stamp: stamp)]
            var context: CausalContext = [:]
            if stamp.seq != 0 { context[stamp.origin] = stamp.hlc }
            return ColumnMerge.multiValueColumn(MultiValueState(siblings: siblings, context: context))
        case .addWinsSet:
            guard let elements = SetCodec.decode(value) else { throw MalformedDataError("set column is not a JSON array of text") }
            let dot = Dot(origin: stamp.origin, hlc: stamp.hlc)
            var context: CausalContext = [:]
            var contributors: [NodeID: Stamp] = [:]
            if stamp.seq != 0 {
                context[stamp.origin] = stamp.hlc
                contributors[stamp.origin] = stamp
            }
            return ColumnMerge.setColumn(
                SetState(
                    elements: Dictionary(uniqueKeysWithValues: elements.uniqueExactly().map { ($0, [dot]) }),
                    context: context,
                    contributors: contributors))
        default:
            return ColumnState(value: value, meta: .register(stamp))
        }
    }

    /// The shared stamp when every column is in its "written once by one stamp" shape.
    private static func uniformStamp(_ row: RowState) -> Stamp? {
        var shared: Stamp?
        for column in row.columns {
            let stamp: Stamp
            switch column.meta {
            case .register(let own):
                stamp = own
            case .multiValue(let state):
                guard state.siblings.count == 1, let only = state.siblings.first,
                    state.context == [only.stamp.origin: only.stamp.hlc]
                else { return nil }
                stamp = only.stamp
            case .set(let state):
                guard state.contributors.count == 1, let only = state.contributors.values.first,
                    state.context == [only.origin: only.hlc],
                    state.elements.values.allSatisfy({ $0 == [Dot(origin: only.origin, hlc: only.hlc)] })
                else { return nil }
                stamp = only
            }
            if let shared, shared != stamp { return nil }
            shared = stamp
        }
        return shared
    }

    private static func write(_ stamp: Stamp, to writer: inout BinaryWriter) {
        writer.writeFixed64(stamp.hlc.rawValue)
        writer.writeFixed64(stamp.origin.rawValue)
        writer.writeVarint(stamp.seq)
    }

    static func readStamp(_ reader: inout BinaryReader) throws(MalformedDataError) -> Stamp {
        let hlc = HLC(rawValue: try reader.readFixed64())
        let origin = NodeID(try reader.readFixed64())
        return Stamp(hlc: hlc, origin: origin, seq: try reader.readVarint())
    }

    private static func write(_ context: CausalContext, to writer: inout BinaryWriter) {
        writer.writeVarint(UInt64(context.count))
        for origin in context.keys.sorted() {
            writer.writeFixed64(origin.rawValue)
            writer.writeFixed64(context[origin]!.rawValue)
        }
    }

    private static func readContext(_ reader: inout BinaryReader) throws(MalformedDataError) -> CausalContext {
        let count = try reader.readCount(limit: reader.remaining / 16)
        var context: CausalContext = [:]
        for _ in 0..<count {
            let origin = NodeID(try reader.readFixed64())
            context[origin] = HLC(rawValue: try reader.readFixed64())
        }
        return context
    }
}
