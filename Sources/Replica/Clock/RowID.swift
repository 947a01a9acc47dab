/// Generates row ids offline: ULIDs (48-bit millisecond time, 80 random bits,
/// Crockford base 32), so ids from different nodes never collide and sort by time.
public struct RowIDGenerator: Sendable {
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// Creates a generator.
    public init() {}

    /// A new 26-character ULID for the given time.
    public func make(milliseconds: UInt64, using generator: inout some RandomNumberGenerator) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 {
            bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - UInt64(index))))
        }
        for index in 6..<16 {
            bytes[index] = UInt8.random(in: 0...255, using: &generator)
        }
        return Self.encode(bytes)
    }

    /// Whether `text` has the shape of a ULID.
    public static func isValid(_ text: String) -> Bool {
        let utf8 = Array(text.utf8)
        return utf8.count == 26 && utf8[0] <= UInt8(ascii: "7") && utf8.allSatisfy { alphabet.contains($0) }
    }

    private static func encode(_ bytes: [UInt8]) -> String {
        // 128 bits → 26 symbols of 5 bits, the first symbol carrying 3 bits.
        var value = (UInt128(bytes[0]) << 120)
        for index in 1..<16 {
            value |= UInt128(bytes[index]) << (8 * (15 - index))
        }
        var symbols = [UInt8](repeating: 0, count: 26)
        for index in (0..<26).reversed() {
            symbols[index] = alphabet[Int(value & 0x1F)]
            value >>= 5
        }
        return String(decoding: symbols, as: UTF8.self)
    }
}
