import GRDB

/// One page of central's scoped feed to a ward node: the current state of rows in the ward's
/// scope (not commits), and what left the scope.
///
/// ```
/// feed    = cursor vector | rowCount varint | entry* | evictCount varint | patient text*
///           | complete u8 (0 | 1) [ patientCount varint | patient text*
///                                   | tableCount varint | (table text | keyCount varint | key text*)* ]
/// entry   = table text | key text | 0x00 | value* (one per declared column) | meta bytes    a row's state
///         | table text | key text | 0x01                                                   left the scope
/// vector  = count varint | (origin u64le | seq varint)*
/// ```
///
/// `cursor` is how far the sender's commits are reflected in what the ward node holds once it
/// applied the page; `complete` marks the last page of a full snapshot, which lists every patient
/// in scope and every key of each `hold ward` table, so the node purges what is not listed.
public struct RowFeed: Hashable, Sendable {
    /// One row's entry.
    public struct Entry: Hashable, Sendable {
        /// What the entry says about the row.
        public enum Body: Hashable, Sendable {
            /// The row's values (declared order, key excluded) and its encoded merge metadata.
            case state(values: [DatabaseValue], meta: [UInt8])
            /// The row left the receiver's scope: it purges its copy.
            case gone
        }

        public var table: String
        public var key: String
        public var body: Body
    }

    /// The last page of a full snapshot: everything the receiver may keep.
    public struct Snapshot: Hashable, Sendable {
        /// Every patient in scope.
        public var patients: Set<ExactText>
        /// Every key in scope of each `hold ward` table.
        public var wardKeys: [String: Set<ExactText>]
    }

    /// How far the sender's commits are reflected once this page is applied.
    public var cursor = VersionVector()
    /// Row entries.
    public var entries: [Entry] = []
    /// Patients that left the receiver's scope: every row held by patient is purged.
    public var evicted: [String] = []
    /// Set on the last page of a full snapshot.
    public var snapshot: Snapshot?

    /// Creates an empty page.
    public init() {}

    /// Entries and evictions in the page (what a sync report counts as rows).
    public var count: Int { entries.count + evicted.count }

    /// Whether the page carries nothing to apply (it may still move the cursor).
    public var isEmpty: Bool { entries.isEmpty && evicted.isEmpty && snapshot == nil }
}

extension RowFeed {
    /// The most entries, evictions or listed keys one page may carry.
    public static let maximumEntries = 200_000

    /// The page's wire form.
    public func encoded() -> [UInt8] {
        var writer = BinaryWriter()
        writer.writeVector(cursor)
        writer.writeVarint(UInt64(entries.count))
        for entry in entries {
            writer.writeString(entry.table)
            writer.writeString(entry.key)
            switch entry.body {
            case .state(let values, let meta):
                writer.writeByte(0)
                for value in values { writer.writeValue(value) }
                writer.writeBytes(meta)
            case .gone:
                writer.writeByte(1)
            }
        }
        Self.write(evicted, to: &writer)
        if let snapshot {
            writer.writeByte(1)
            Self.write(snapshot.patients.sorted().map(\.text), to: &writer)
            writer.writeVarint(UInt64(snapshot.wardKeys.count))
            for (table, keys) in snapshot.wardKeys.sorted(by: { $0.key < $1.key }) {
                writer.writeString(table)
                Self.write(keys.sorted().map(\.text), to: &writer)
            }
        } else {
            writer.writeByte(0)
        }
        return writer.bytes
    }

    /// The page's wire form for a ward node on another release: only the tables and columns both
    /// declare (``SharedSchema``), each row's metadata limited to those columns.
    /// - Throws: ``MalformedDataError`` when a row's stored metadata does not decode.
    public func encoded(for shared: SharedSchema, policies: PolicySet) throws(MalformedDataError) -> [UInt8] {
        guard !shared.isWhole else { return encoded() }
        var limited = self
        limited.entries = []
        for entry in entries {
            guard let count = shared.columns[entry.table], let table = policies.table(named: entry.table) else { continue }
            guard case .state(let values, let meta) = entry.body, count < values.count else {
                limited.entries.append(entry)
                continue
            }
            let state = try RowMetaCodec.decode(meta, values: values, policies: table.columns.map(\.policy))
            let kept = RowMetaCodec.encode(RowState(columns: Array(state.columns.prefix(count))))
            limited.entries.append(Entry(table: entry.table, key: entry.key, body: .state(values: Array(values.prefix(count)), meta: kept)))
        }
        limited.snapshot?.wardKeys = snapshot?.wardKeys.filter { shared.columns[$0.key] != nil } ?? [:]
        return limited.encoded()
    }

    /// Decodes a page, checking it against the declared tables: every entry names a declared
    /// table and carries one value per declared column (per column both declare, for a sender on
    /// another release: the columns only this node declares read unwritten).
    /// - Throws: ``MalformedDataError`` on anything else (never traps on hostile bytes).
    public init(decoding bytes: [UInt8], policies: PolicySet, shared: SharedSchema? = nil) throws(MalformedDataError) {
        var reader = BinaryReader(bytes)
        self.cursor = try reader.readVector()
        let tables = Dictionary(uniqueKeysWithValues: policies.tables.map { ($0.name, $0) })
        let entryCount = try reader.readCount(limit: min(reader.remaining / 4, Self.maximumEntries))
        entries.reserveCapacity(entryCount)
        for _ in 0..<entryCount {
            let name = try reader.readString()
            guard let table = tables[name] else { throw MalformedDataError("an entry of an undeclared table") }
            let sent = shared.map { $0.columns[name] } ?? table.columns.count
            guard let sent else { throw MalformedDataError("an entry of a table the sender does not declare alike") }
            let key = try reader.readString()
            switch try reader.readByte() {
            case 0:
                var values: [DatabaseValue] = []
                values.reserveCapacity(table.columns.count)
                for _ in 0..<sent { values.append(try reader.readValue()) }
                var meta = Array(try reader.readBytes())
                if sent < table.columns.count {
                    // Columns the sender does not declare yet: unwritten here.
                    let state = try RowMetaCodec.decode(meta, values: values, widenedTo: table.columns.map(\.policy))
                    values = state.columns.map(\.value)
                    meta = RowMetaCodec.encode(state)
                }
                entries.append(Entry(table: name, key: key, body: .state(values: values, meta: meta)))
            case 1:
                entries.append(Entry(table: name, key: key, body: .gone))
            default:
                throw MalformedDataError("an unknown entry kind")
            }
        }
        evicted = try Self.readTexts(&reader)
        switch try reader.readByte() {
        case 0: break
        case 1:
            let patients = try Self.readTexts(&reader).uniqueExactly()
            let tableCount = try reader.readCount(limit: min(reader.remaining, tables.count))
            var wardKeys: [String: Set<ExactText>] = [:]
            for _ in 0..<tableCount {
                let name = try reader.readString()
                guard tables[name] != nil, wardKeys[name] == nil else { throw MalformedDataError("a snapshot lists an undeclared table, or one twice") }
                wardKeys[name] = try Self.readTexts(&reader).uniqueExactly()
            }
            snapshot = Snapshot(patients: patients, wardKeys: wardKeys)
        default:
            throw MalformedDataError("an unknown snapshot flag")
        }
        guard reader.isAtEnd else { throw MalformedDataError("trailing bytes after the feed page") }
    }

    private static func write(_ texts: [String], to writer: inout BinaryWriter) {
        writer.writeVarint(UInt64(texts.count))
        for text in texts { writer.writeString(text) }
    }

    private static func readTexts(_ reader: inout BinaryReader) throws(MalformedDataError) -> [String] {
        let count = try reader.readCount(limit: min(reader.remaining, maximumEntries))
        var texts: [String] = []
        texts.reserveCapacity(count)
        for _ in 0..<count { texts.append(try reader.readString()) }
        return texts
    }
}
