import Foundation
import GRDB

/// Appends little-endian integers, LEB128 varints, strings and SQLite values to a byte array.
/// Used by the replica's metadata and change batches and by the sync protocol's messages.
public struct BinaryWriter {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    /// Creates an empty writer.
    public init(capacity: Int = 64) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func writeByte(_ byte: UInt8) {
        bytes.append(byte)
    }

    public mutating func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    public mutating func writeFixed64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    public mutating func writeBytes(_ data: some Collection<UInt8>) {
        writeVarint(UInt64(data.count))
        bytes.append(contentsOf: data)
    }

    /// Appends bytes as they are, without a length.
    public mutating func writeBytesRaw(_ data: some Collection<UInt8>) {
        bytes.append(contentsOf: data)
    }

    public mutating func writeString(_ string: String) {
        writeBytes(string.utf8)
    }

    /// A tag byte then the payload: 0 NULL, 1 integer (zigzag varint), 2 real, 3 text, 4 blob.
    public mutating func writeValue(_ value: DatabaseValue) {
        switch value.storage {
        case .null:
            writeByte(0)
        case .int64(let int):
            writeByte(1)
            writeVarint(UInt64(bitPattern: (int << 1) ^ (int >> 63)))
        case .double(let double):
            writeByte(2)
            writeFixed64(double.bitPattern)
        case .string(let string):
            writeByte(3)
            writeString(string)
        case .blob(let data):
            writeByte(4)
            writeBytes(data)
        }
    }
}

/// Reads what ``BinaryWriter`` wrote. Every length is checked against the bytes
/// that remain before anything is allocated; malformed input throws, never traps.
public struct BinaryReader {
    private let bytes: [UInt8]
    /// Bytes consumed so far.
    public private(set) var offset: Int

    /// Reads `bytes` from the start.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
    }

    /// Whether every byte was read.
    public var isAtEnd: Bool { offset == bytes.count }
    /// Bytes left to read.
    public var remaining: Int { bytes.count - offset }

    /// Exactly `count` raw bytes.
    public mutating func readFixedBytes(_ count: Int) throws(MalformedDataError) -> [UInt8] {
        guard count >= 0, count <= remaining else { throw MalformedDataError("truncated") }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    public mutating func readByte() throws(MalformedDataError) -> UInt8 {
        guard offset < bytes.count else { throw MalformedDataError("truncated") }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func readVarint() throws(MalformedDataError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte()
            if shift == 63, byte > 1 { throw MalformedDataError("varint overflows 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw MalformedDataError("varint too long") }
        }
    }

    /// A varint used as a count or length, bounded by `limit`.
    public mutating func readCount(limit: Int) throws(MalformedDataError) -> Int {
        let value = try readVarint()
        guard value <= UInt64(limit) else { throw MalformedDataError("count \(value) exceeds the limit \(limit)") }
        return Int(value)
    }

    public mutating func readFixed64() throws(MalformedDataError) -> UInt64 {
        guard remaining >= 8 else { throw MalformedDataError("truncated") }
        var value: UInt64 = 0
        for index in 0..<8 {
            value |= UInt64(bytes[offset + index]) << UInt64(8 * index)
        }
        offset += 8
        return value
    }

    public mutating func readBytes() throws(MalformedDataError) -> ArraySlice<UInt8> {
        let length = try readVarint()
        guard length <= UInt64(remaining) else { throw MalformedDataError("length \(length) runs past the end") }
        let count = Int(length)
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    /// Reads past a length-prefixed run of bytes (what ``readBytes()`` reads).
    public mutating func skipBytes() throws(MalformedDataError) {
        let length = try readVarint()
        guard length <= UInt64(remaining) else { throw MalformedDataError("length \(length) runs past the end") }
        offset += Int(length)
    }

    /// Reads past one value (what ``readValue()`` reads) without making it. Its text is not
    /// checked for UTF-8: the caller vouches for the bytes (checked when they were stored).
    public mutating func skipValue() throws(MalformedDataError) {
        switch try readByte() {
        case 0: return
        case 1: _ = try readVarint()
        case 2: _ = try readFixed64()
        case 3, 4: try skipBytes()
        case let tag: throw MalformedDataError("unknown value tag \(tag)")
        }
    }

    public mutating func readString() throws(MalformedDataError) -> String {
        let slice = try readBytes()
        guard let string = slice.withUnsafeBufferPointer(Self.validUTF8) else {
            throw MalformedDataError("text is not valid UTF-8")
        }
        return string
    }

    /// The text `bytes` hold, or nil when they are not valid UTF-8. Decoding repairs invalid
    /// sequences, so text whose bytes differ from the input was invalid: this runs for every text
    /// value merged, and `String(validating:as:)` instantiates generic metadata on each call.
    static func validUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        let decoded = String(decoding: bytes, as: UTF8.self)
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return decoded }
        let intact = decoded.utf8.withContiguousStorageIfAvailable { utf8 in
            utf8.count == bytes.count && memcmp(utf8.baseAddress!, base, bytes.count) == 0
        }
        return (intact ?? decoded.utf8.elementsEqual(bytes)) ? decoded : nil
    }

    public mutating func readValue() throws(MalformedDataError) -> DatabaseValue {
        switch try readByte() {
        case 0: return .null
        case 1:
            let raw = try readVarint()
            let int = Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
            return int.databaseValue
        case 2: return Double(bitPattern: try readFixed64()).databaseValue
        case 3: return try readString().databaseValue
        case 4: return Data(try readBytes()).databaseValue
        case let tag: throw MalformedDataError("unknown value tag \(tag)")
        }
    }
}

/// Bytes that do not decode: a stored row's sync metadata or a change batch.
/// The reason names the structural problem only, never a value.
public struct MalformedDataError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong with the bytes.
    public var reason: String

    /// Creates an error naming the structural problem.
    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { "malformed data: \(reason)" }
}
