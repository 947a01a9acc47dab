import Testing

@testable import CRMDomain

/// CSV files as HIS systems and Excel save them.
@Suite("CSV text encodings")
struct CSVTextTests {
    @Test func utf8WithOrWithoutItsMarkAndGB18030AreRead() throws {
        #expect(try CSVText.decode(Array("name\n张三\n".utf8)) == ("name\n张三\n", .utf8))
        #expect(try CSVText.decode([0xEF, 0xBB, 0xBF] + Array("name\n李四\n".utf8)) == ("name\n李四\n", .utf8))
        // 张三 in GBK; 𠀀 (U+20000) in GB18030's four-byte form.
        #expect(try CSVText.decode(Array("name\n".utf8) + [0xD5, 0xC5, 0xC8, 0xFD]) == ("name\n张三", .gb18030))
        #expect(try CSVText.decode([0x95, 0x32, 0x82, 0x36]) == ("\u{20000}", .gb18030))
    }

    @Test func whatIsNeitherIsRefused() {
        for bytes: [UInt8] in [[0xFF, 0xFE, 0x41], [0xD5], [0xEF, 0xBB, 0xBF, 0xD5, 0xC5], [0x80]] {
            #expect(throws: CRMError.self) { try CSVText.decode(bytes) }
        }
    }
}
