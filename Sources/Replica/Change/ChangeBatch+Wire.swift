/// The binary encoding of a change batch, the payload of a sync frame.
///
/// ```
/// "SFB1"
/// coverageCount varint  | (origin u64le | after varint | upTo varint)*
/// tableCount varint     | tableName*                        (text = length varint | UTF-8)
/// changeCount varint    | change*
/// change = tableIndex varint | key text | 0x00 valueCount varint value* meta bytes
///                                       | 0x01 stamp
/// ```
/// Decoding checks every count and length against ``ChangeBatch/Limits`` and the
/// bytes that remain before it allocates anything.
extension ChangeBatch {
    /// Bounds for decoding untrusted bytes.
    public struct Limits: Hashable, Sendable {
        /// Most changes in one batch.
        public var maxChanges: Int
        /// Most columns in one row.
        public var maxColumns: Int
        /// Most bytes in one row's metadata.
        public var maxMetaBytes: Int

        /// Creates limits.
        public init(maxChanges: Int = 100_000, maxColumns: Int = 512, maxMetaBytes: Int = 1 << 20) {
            self.maxChanges = maxChanges
            self.maxColumns = maxColumns
            self.maxMetaBytes = maxMetaBytes
        }
    }

    private static let magic: [UInt8] = Array("SFB1".utf8)

    /// The batch's bytes.
    public func encoded() -> [UInt8] {
        var writer = BinaryWriter(capacity: 64 + changes.count * 96)
        for byte in Self.magic { writer.writeByte(byte) }
        writer.writeVarint(UInt64(coverage.count))
        for claim in coverage {
            writer.writeFixed64(claim.origin.rawValue)
            writer.writeVarint(claim.after)
            writer.writeVarint(claim.upTo)
        }
        var tableIndex: [String: Int] = [:]
        var tableNames: [String] = []
        for change in changes where tableIndex[change.table] == nil {
            tableIndex[change.table] = tableNames.count
            tableNames.append(change.table)
        }
        writer.writeVarint(UInt64(tableNames.count))
        for name in tableNames { writer.writeString(name) }
        writer.writeVarint(UInt64(changes.count))
        for change in changes {
            writer.writeVarint(UInt64(tableIndex[change.table]!))
            writer.writeString(change.key)
            switch change.body {
            case .row(let values, let meta):
                writer.writeByte(0)
                writer.writeVarint(UInt64(values.count))
                for value in values { writer.writeValue(value) }
                writer.writeBytes(meta)
            case .tombstone(let stamp):
                writer.writeByte(1)
                writer.writeFixed64(stamp.hlc.rawValue)
                writer.writeFixed64(stamp.origin.rawValue)
                writer.writeVarint(stamp.seq)
            }
        }
        return writer.bytes
    }

    /// Decodes bytes produced by ``encoded()``.
    /// - Throws: ``MalformedDataError`` for anything malformed or over the limits.
    public init(decoding bytes: [UInt8], limits: Limits = Limits()) throws(MalformedDataError) {
        var reader = BinaryReader(bytes)
        for byte in Self.magic where try reader.readByte() != byte {
            throw MalformedDataError("not a change batch")
        }
        let coverageCount = try reader.readCount(limit: min(reader.remaining / 10, 1 << 20))
        var coverage: [Coverage] = []
        coverage.reserveCapacity(coverageCount)
        for _ in 0..<coverageCount {
            let origin = NodeID(try reader.readFixed64())
            let after = try reader.readVarint()
            let upTo = try reader.readVarint()
            guard after <= upTo else { throw MalformedDataError("coverage runs backwards") }
            coverage.append(Coverage(origin: origin, after: after, upTo: upTo))
        }
        let tableCount = try reader.readCount(limit: min(reader.remaining, 4096))
        var tables: [String] = []
        for _ in 0..<tableCount {
            let name = try reader.readString()
            guard name.utf8.count <= 64 else { throw MalformedDataError("table name too long") }
            tables.append(name)
        }
        let changeCount = try reader.readCount(limit: min(reader.remaining / 3, limits.maxChanges))
        var changes: [RowChange] = []
        changes.reserveCapacity(changeCount)
        for _ in 0..<changeCount {
            let index = try reader.readCount(limit: max(tables.count - 1, 0))
            guard index < tables.count else { throw MalformedDataError("table index out of range") }
            let key = try reader.readString()
            guard !key.isEmpty, key.utf8.count <= 128 else { throw MalformedDataError("row id must be 1 to 128 bytes") }
            switch try reader.readByte() {
            case 0:
                let valueCount = try reader.readCount(limit: min(reader.remaining, limits.maxColumns))
                var values: [GRDB.DatabaseValue] = []
                values.reserveCapacity(valueCount)
                for _ in 0..<valueCount { values.append(try reader.readValue()) }
                let meta = try reader.readBytes()
                guard meta.count <= limits.maxMetaBytes else { throw MalformedDataError("row metadata over the limit") }
                changes.append(RowChange(table: tables[index], key: key, body: .row(values: values, meta: Array(meta))))
            case 1:
                let stamp = try RowMetaCodec.readStamp(&reader)
                changes.append(RowChange(table: tables[index], key: key, body: .tombstone(stamp)))
            case let kind:
                throw MalformedDataError("unknown change kind \(kind)")
            }
        }
        guard reader.isAtEnd else { throw MalformedDataError("trailing bytes after the batch") }
        self.init(changes: changes, coverage: coverage)
    }
}

import GRDB
