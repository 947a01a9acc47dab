import Foundation
import GRDB
import Testing

@testable import Replica

/// What an archive page reads of stored commits and rows without decoding them in full: the
/// rows a commit touches, and the newest stamp of a row's columns. Each shortcut answers as the
/// full decoding does, and merging still checks everything.
@Suite("Reading stored commits and rows")
struct StoredCommitReadingTests {
    private let tables: [String: ReplicatedTable]

    init() throws {
        let replica = try makeReplica(1)
        tables = replica.tables
    }

    /// A change to a table this release does not declare, whose text is not UTF-8: merging the
    /// commit refuses it, while the archive (reading a commit stored after it was checked, maybe
    /// by a release that declares the table) steps over it and still finds every row, each with
    /// its own table, whichever table the change before it named.
    @Test func aStoredCommitIsSteppedThroughAndMergingStillChecksWhatItSkips() throws {
        var body = BinaryWriter()
        body.writeVarint(5)
        func compactInsert(_ table: String, _ key: String, _ value: () -> Void) {
            body.writeString(table)
            body.writeString(key)
            body.writeByte(3)
            body.writeFixed64(HLC(milliseconds: 1_780_000_000_000, counter: 0).rawValue)
            body.writeVarint(1)
            body.writeVarint(0)
            value()
        }
        compactInsert("later", "k1") {
            body.writeByte(3)
            body.writeVarint(2)
            body.writeByte(0xFF)
            body.writeByte(0xFE)
        }
        compactInsert("entry", "k2") { body.writeValue("fine".databaseValue) }
        compactInsert("entry", "k3") { body.writeValue("fine".databaseValue) }
        compactInsert("item", "k4") { body.writeValue("name".databaseValue) }
        compactInsert("entry", "k5") { body.writeValue("fine".databaseValue) }

        let touched = try CommitCodec.touchedRows(body.bytes, origin: NodeID(7), seq: 1, tables: tables)
        #expect(touched.map(\.table) == ["entry", "entry", "item", "entry"])
        #expect(touched.map(\.key) == ["k2", "k3", "k4", "k5"])
        #expect(touched.allSatisfy { $0.isInsert })

        #expect {
            try CommitCodec.decode(body.bytes, origin: NodeID(7), seq: 1, tables: tables, limits: ChangeBatch.Limits())
        } throws: { error in
            (error as? CommitViolation)?.rule.contains("UTF-8") == true
        }
    }

    /// A commit of tombstones, one per table name (given as bytes, so that they need not be text).
    private func tombstones(named names: [[UInt8]]) -> [UInt8] {
        var body = BinaryWriter()
        body.writeVarint(UInt64(names.count))
        for name in names {
            body.writeVarint(UInt64(name.count))
            for byte in name { body.writeByte(byte) }
            body.writeString("k")
            body.writeByte(1)
            body.writeFixed64(HLC(milliseconds: 1_780_000_000_000, counter: 0).rawValue)
        }
        return body.bytes
    }

    /// A table name longer than any declared one is refused when merging, also when a valid
    /// name came just before it.
    @Test func aTableNamePastTheLimitIsRefusedWhenMerging() throws {
        let body = tombstones(named: [Array("entry".utf8), Array(repeating: UInt8(ascii: "e"), count: 129)])
        #expect {
            try CommitCodec.decode(body, origin: NodeID(7), seq: 1, tables: tables, limits: ChangeBatch.Limits())
        } throws: { error in
            (error as? CommitViolation)?.rule.contains("a table name longer than any declared") == true
        }
    }

    /// A table name that is not UTF-8 is refused both ways, even right after a valid one.
    @Test func aTableNameThatIsNotTextIsRefused() throws {
        let body = tombstones(named: [Array("entry".utf8), [0x65, 0xFF]])
        #expect(throws: CommitViolation.self) { try CommitCodec.touchedRows(body, origin: NodeID(7), seq: 1, tables: tables) }
        #expect(throws: CommitViolation.self) {
            try CommitCodec.decode(body, origin: NodeID(7), seq: 1, tables: tables, limits: ChangeBatch.Limits())
        }
    }

    /// The newest register stamp as the full decoding gives it (what the archive computed
    /// before the uniform form was read directly).
    private func decodedNewest(_ meta: [UInt8], values: [DatabaseValue], policies: [ColumnPolicy]) -> UInt64 {
        guard let state = try? RowMetaCodec.decode(meta, values: values, widenedTo: policies) else { return 0 }
        return state.columns.reduce(0) { newest, column in
            if case .register(let stamp) = column.meta { return max(newest, stamp.hlc.milliseconds) }
            return newest
        }
    }

    @Test func theNewestStampOfARowIsWhatDecodingItGives() throws {
        let early = Stamp(hlc: HLC(milliseconds: 1_780_000_000_000, counter: 2), origin: NodeID(3), seq: 4)
        let late = Stamp(hlc: HLC(milliseconds: 1_780_000_500_000, counter: 0), origin: NodeID(5), seq: 9)
        let uniform = RowMetaCodec.encodeUniform(late)
        let general = RowMetaCodec.encode(
            RowState(columns: [
                ColumnState(value: "a".databaseValue, meta: .register(early)), ColumnState(value: 1.databaseValue, meta: .register(late)),
            ]))
        #expect(general.first == 2)
        let registers: [ColumnPolicy] = [.lastWriterWins, .maximum]
        let cases: [(meta: [UInt8], values: [DatabaseValue], policies: [ColumnPolicy])] = [
            (uniform, ["a".databaseValue, 1.databaseValue], registers),
            (general, ["a".databaseValue, 1.databaseValue], registers),
            // A row of an earlier release: fewer values than declared columns.
            (uniform, ["a".databaseValue], registers),
            (general, ["a".databaseValue], registers),
            // Keep-both columns hold no register; a set column decodes (and may fail).
            (uniform, [DatabaseValue.null], [.keepBoth]),
            (uniform, [DatabaseValue.null], [.keepBoth, .lastWriterWins]),
            (uniform, ["a".databaseValue], [.lastWriterWins, .addWinsSet]),
            ([3] + uniform.dropFirst(), ["a".databaseValue, 1.databaseValue], registers),
            (uniform, [#"["x"]"#.databaseValue, 1.databaseValue], [.addWinsSet, .lastWriterWins]),
            (uniform, ["not json".databaseValue, 1.databaseValue], [.addWinsSet, .lastWriterWins]),
            // Broken metadata.
            (uniform + [0], ["a".databaseValue, 1.databaseValue], registers),
            (Array(uniform.dropLast()), ["a".databaseValue, 1.databaseValue], registers),
            ([], ["a".databaseValue, 1.databaseValue], registers),
            (uniform, ["a".databaseValue, 1.databaseValue, 2.databaseValue], registers),
            (uniform, [], registers),
        ]
        for (index, example) in cases.enumerated() {
            let fast = RowMetaCodec.newestRegisterMilliseconds(example.meta, values: example.values, policies: example.policies)
            #expect(fast == decodedNewest(example.meta, values: example.values, policies: example.policies), "case \(index)")
        }
        #expect(RowMetaCodec.newestRegisterMilliseconds(uniform, values: ["a".databaseValue, 1.databaseValue], policies: registers) == late.hlc.milliseconds)
    }
}
