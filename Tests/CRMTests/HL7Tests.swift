import Foundation
import HL7
import Testing

/// HL7 v2 as hospitals send it: framing, character sets, delimiters, escapes, dates, ACKs.
@Suite("HL7 v2 reading")
struct HL7Tests {
    @Test func theDeframerYieldsWholeMessagesAcrossChunksAndSkipsNoise() throws {
        var deframer = MLLPDeframer(maximumFrameBytes: 100)
        let one = MLLPDeframer.frame(Array("MSH|^~\\&|A\rPID|1".utf8)), two = MLLPDeframer.frame(Array("MSH|^~\\&|B".utf8))
        let stream = Array("\r\n".utf8) + one + two
        for byte in stream.prefix(10) { deframer.append([byte]) }
        #expect(try deframer.next() == nil && deframer.isInsideFrame)
        deframer.append(stream.dropFirst(10))
        #expect(try deframer.next() == Array("MSH|^~\\&|A\rPID|1".utf8))
        #expect(try deframer.next() == Array("MSH|^~\\&|B".utf8))
        #expect(try deframer.next() == nil && !deframer.isInsideFrame && deframer.skippedBytes == 2)
    }

    @Test func aRestartedFrameDropsTheUnfinishedOneAndAnOversizedOneIsRefused() throws {
        var deframer = MLLPDeframer(maximumFrameBytes: 64)
        deframer.append([0x0B] + Array("MSH|^~\\&|half".utf8) + MLLPDeframer.frame(Array("MSH|^~\\&|whole".utf8)))
        #expect(try deframer.next() == Array("MSH|^~\\&|whole".utf8))
        #expect(deframer.abandonedFrames == 1)
        deframer.append([0x0B] + [UInt8](repeating: 0x41, count: 100))
        #expect(throws: MLLPDeframer.Failure.self) { try deframer.next() }
        // A long run of start bytes costs a pass, not a pass per byte, and the frame after it is whole.
        var restarts = MLLPDeframer(maximumFrameBytes: 1 << 20)
        restarts.append([UInt8](repeating: 0x0B, count: 200_000) + Array("MSH|^~\\&|R".utf8) + [0x1C, 0x0D])
        #expect(try restarts.next() == Array("MSH|^~\\&|R".utf8) && restarts.abandonedFrames == 199_999)
        // A 0x1C without the CR is data, not an end.
        var lenient = MLLPDeframer(maximumFrameBytes: 64)
        lenient.append([0x0B, 0x41, 0x1C, 0x42, 0x1C, 0x0D])
        #expect(try lenient.next() == [0x41, 0x1C, 0x42])
    }

    @Test func segmentsFieldsRepetitionsAndEscapesAreReadAsTheStandardCountsThem() throws {
        let text =
            "MSH|^~\\&|HIS|H1|SF|H1|20261201083000||ADT^A01^ADT_A01|C1|P|2.5\nPID|1||X9^^^^NI~P001^^^HIS^PI||O\\T\\Brien\\F\\^Mary\\S\\Ann||19600501\r\nZZZ|a\\E\\b|\\X4F4B\\|\\H\\bold\\N\\|\\Q\\|a\\.br\\b|\"\""
        let message = try HL7Parser.parse(Array(text.utf8))
        #expect(message.segments.map(\.id) == ["MSH", "PID", "ZZZ"])
        #expect(message.header.value(9, component: 2) == "A01" && message.header.value(10) == "C1")
        #expect(message.header.field(1).repetitions.first?.component(1) == "|")
        let pid = try #require(message.segment("PID"))
        #expect(pid.field(3).repetitions.compactMap { $0.component(1) } == ["X9", "P001"])
        #expect(pid.field(3).repetitions[1].component(5) == "PI")
        #expect(pid.value(5, component: 1) == "O&Brien|" && pid.value(5, component: 2) == "Mary^Ann")
        let z = try #require(message.segment("ZZZ"))
        #expect(z.value(1) == "a\\b" && z.value(2) == "OK" && z.value(3) == "bold" && z.value(4) == "\\Q\\" && z.value(5) == "a\nb")
        #expect(z.value(6) == nil, "\"\" is HL7's null")
        #expect(pid.value(40) == nil)
    }

    @Test func otherDelimitersAreHonoured() throws {
        let message = try HL7Parser.parse(Array("MSH#$%!*#HIS#H1\rPID#1##P1$$$HIS$PI~%P2".utf8))
        // `~` is an ordinary character here; `%` repeats.
        #expect(message.segment("PID")?.field(3).repetitions.compactMap { $0.component(1) } == ["P1", "P2"])
        #expect(message.segment("PID")?.field(3).repetitions.first?.component(5) == "PI~")
        let repeated = try HL7Parser.parse(Array("MSH#$%!*#HIS\rPID#1##P1$$$HIS$PI%P2".utf8))
        #expect(repeated.segment("PID")?.field(3).repetitions.compactMap { $0.component(1) } == ["P1", "P2"])
    }

    @Test func malformedMessagesAreRefusedWithACodeNotACrash() throws {
        for text in ["", "PID|1", "MSH", "MSH|^^^^|x", "MSH|^~\\&|x\rP|1", "MSHA^~\\&|x", "MSH|^~\\a|x"] {
            #expect(throws: HL7Error.self, "\(text.debugDescription)") { try HL7Parser.parse(Array(text.utf8)) }
        }
        #expect(throws: HL7Error.self) { try HL7Parser.parse(Array(("MSH|^~\\&|x" + String(repeating: "\rNTE|1", count: 6_000)).utf8)) }
        // Found by the fuzzer: a later segment that is a bare "MSH" trapped on MSH-1.
        let bare = try HL7Parser.parse(Array("MSH|^~\\&|x\rMSH".utf8))
        #expect(bare.segments.count == 2 && bare.segments[1].value(1) == nil && bare.segments[1].value(9) == nil)
    }

    @Test func characterSetsAreDecodedAsDeclaredAndAMismatchIsRefused() throws {
        let name = "张三"
        let gbk: [UInt8] = [0xD5, 0xC5, 0xC8, 0xFD]  // 张三 in GBK/GB18030
        func message(_ charset: String, _ nameBytes: [UInt8]) -> [UInt8] {
            Array("MSH|^~\\&|HIS|H||||||C1|P|2.5||||||\(charset)\rPID|1||P1||".utf8) + nameBytes + Array("\r".utf8)
        }
        let decoded = try HL7Charset.decode(message("GB 18030-2000", gbk))
        #expect(decoded.charset == .gb18030 && String(decoding: decoded.utf8, as: UTF8.self).contains(name))
        #expect(try HL7Charset.decode(message("GBK", gbk)).charset == .gb18030)
        #expect(try HL7Charset.decode(message("UNICODE UTF-8", Array(name.utf8))).charset == .utf8)
        #expect(try HL7Charset.decode(message("", Array(name.utf8))).charset == .utf8, "undeclared UTF-8 is read")
        #expect(try HL7Charset.decode(message("", Array("Li".utf8))).charset == .ascii)
        for wrong in [message("UNICODE UTF-8", gbk), message("", gbk), message("GB 18030-2000", Array(name.utf8)), message("ASCII", Array(name.utf8)), message("EBCDIC", [0x41])] {
            #expect(throws: HL7Error.self) { try HL7Charset.decode(wrong) }
        }
    }

    @Test func datesBecomeISOInTheHospitalsZoneUnlessTheyCarryTheirOwn() {
        #expect(HL7Time.iso8601("20261201083015", localOffsetSeconds: 28_800) == "2026-12-01T08:30:15+08:00")
        #expect(HL7Time.iso8601("202612010830", localOffsetSeconds: 28_800) == "2026-12-01T08:30:00+08:00")
        #expect(HL7Time.iso8601("20261201", localOffsetSeconds: 28_800) == "2026-12-01T00:00:00+08:00")
        #expect(HL7Time.iso8601("20261201083015.123-0500", localOffsetSeconds: 28_800) == "2026-12-01T08:30:15-05:00")
        for bad in ["2026", "20261301", "20260230", "2026120108301", "20261201+08", "abcdefgh", "20261201083015.x", "", "99991231"] {
            #expect(HL7Time.iso8601(bad, localOffsetSeconds: 0) == nil, "\(bad)")
        }
        #expect(HL7Time.day("19600501") == "1960-05-01")
        #expect(HL7Time.stamp(secondsSince1970: 1_764_549_015, offsetSeconds: 28_800) == "20251201083015+0800")
    }

    @Test func anAckSwapsTheSenderEchoesTheControlIdAndNamesTheError() throws {
        let header = HL7RawHeader(Array("MSH|^~\\&|HISAPP|HOSP|SUIFANG|CENTRAL|20261201||ADT^A01^ADT_A01|MSG00001|P|2.4||||||GB 18030-2000\rPID".utf8))
        let error = HL7Error(.tableValueNotFound, "unmapped ward code 'W|9'", at: "PV1^3")
        let ack = String(decoding: HL7Acknowledgement(.error, error: error).message(for: header, controlID: "SF1", timestamp: "20261201083000+0800"), as: UTF8.self)
        let parsed = try HL7Parser.parse(Array(ack.utf8))
        #expect(parsed.header.value(3) == "SUIFANG" && parsed.header.value(4) == "CENTRAL")
        #expect(parsed.header.value(5) == "HISAPP" && parsed.header.value(6) == "HOSP")
        #expect(parsed.header.value(9, component: 1) == "ACK" && parsed.header.value(9, component: 2) == "A01" && parsed.header.value(10) == "SF1")
        #expect(parsed.header.value(12) == "2.4" && parsed.header.value(18) == "GB 18030-2000")
        #expect(parsed.segment("MSA")?.value(1) == "AE" && parsed.segment("MSA")?.value(2) == "MSG00001")
        let err = try #require(parsed.segment("ERR"))
        #expect(err.value(3) == "103" && err.value(4) == "E" && err.value(8) == "unmapped ward code 'W|9'")
        #expect(err.value(2) == "PV1" && err.field(2).repetitions.first?.component(3) == "3")
        let accepted = String(decoding: HL7Acknowledgement(.accept).message(for: header, controlID: "SF2", timestamp: "20261201083000+0800"), as: UTF8.self)
        #expect(accepted.hasSuffix("MSA|AA|MSG00001\r") && !accepted.contains("ERR"))
    }
}
