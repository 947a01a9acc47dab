#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// GB18030 (a superset of GBK and GB2312), the character set Chinese HIS systems and Windows'
/// "ANSI" files use, decoded with the system's iconv.
public enum GB18030 {
    /// The text of `bytes`, or nil at the first invalid or incomplete sequence.
    public static func decode(_ bytes: some Collection<UInt8>) -> String? {
        let converter = iconv_open("UTF-8", "GB18030")
        guard converter != iconv_t(bitPattern: -1) else { return nil }
        defer { iconv_close(converter) }
        var input = bytes.map { CChar(bitPattern: $0) }
        // At most 4 UTF-8 bytes for 2 input bytes (CJK) or for 4 (the four-byte form).
        var output = [CChar](repeating: 0, count: input.count * 2 + 4)
        let produced: Int? = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                var inPointer = inBuffer.baseAddress, outPointer = outBuffer.baseAddress
                var inLeft = inBuffer.count, outLeft = outBuffer.count
                guard iconv(converter, &inPointer, &inLeft, &outPointer, &outLeft) != -1, inLeft == 0 else { return nil }
                return outBuffer.count - outLeft
            }
        }
        guard let produced else { return nil }
        guard let text = String(validating: output.prefix(produced).map { UInt8(bitPattern: $0) }, as: UTF8.self), !text.contains("\u{FFFD}") else {
            return nil
        }
        return text
    }
}
