import GRDB
import TestSupport
import Testing

@testable import Replica

@Suite("Change batches on the wire and untrusted input")
struct ChangeBatchWireTests {
    func sampleBatch() throws -> ChangeBatch {
        let replica = try makeReplica(1)
        let id = try replica.write { tx in
            try tx.insert(into: "item", values: ["name": "n", "phone": "1", "tags": SetCodec.encode(["a", "b"]), "visits": 3])
        }
        try replica.write { try $0.update("item", id: id, set: ["phone": "2", "status": "accepted"]) }
        try replica.write { try $0.addElement("c", to: "tags", of: "item", id: id) }
        let gone = try replica.write { try $0.insert(into: "item", values: ["name": "gone"]) }
        try replica.write { try $0.delete(from: "item", id: gone) }
        try replica.write { try $0.insert(into: "entry", values: ["body": "b", "score": -7]) }
        return try replica.changes(since: VersionVector()).batch
    }

    @Test func roundTripsEveryKindOfChange() throws {
        let batch = try sampleBatch()
        #expect(batch.commitCount == 6)
        #expect(batch.changeCount == 6)
        #expect(try ChangeBatch(decoding: batch.encoded()) == batch)
        let target = try makeReplica(2)
        try target.apply(batch)
        #expect(try target.statistics().rows["item"] == 1)
        #expect(
            try value(target, "item", try target.reader.read { try String.fetchOne($0, sql: "SELECT id FROM item")! }, "tags")
                == SetCodec.encode(["a", "b", "c"]))
    }

    @Test func everyTruncationIsRefusedWithoutTrapping() throws {
        let bytes = try sampleBatch().encoded()
        for length in 0..<bytes.count {
            #expect(throws: MalformedDataError.self) { try ChangeBatch(decoding: Array(bytes.prefix(length))) }
        }
    }

    @Test func corruptedBytesNeverTrapAndNeverApply() throws {
        let bytes = try sampleBatch().encoded()
        var random = SplitMix64(seed: 42)
        let target = try makeReplica(2)
        let before = try target.canonicalDump()
        for _ in 0..<2000 {
            var corrupted = bytes
            for _ in 0..<(1 + Int(random.next() % 3)) {
                corrupted[Int(random.next() % UInt64(corrupted.count))] = UInt8(truncatingIfNeeded: random.next())
            }
            guard corrupted != bytes, let batch = try? ChangeBatch(decoding: corrupted) else { continue }
            do {
                try target.apply(batch)
            } catch let error as ReplicaError {
                // Any altered byte breaks the origin's chain or its signature.
                #expect(error.code == .forgedCommit)
            }
            #expect(try target.canonicalDump() == before, "an altered batch changed the replica")
        }
    }

    @Test func hugeCountsAreRefusedBeforeAllocating() {
        var writer = BinaryWriter()
        writer.writeBytesRaw(Array("SFB2".utf8))
        writer.writeVarint(UInt64.max >> 1)  // segment count
        #expect(throws: MalformedDataError.self) { try ChangeBatch(decoding: writer.bytes) }
        var limited = BinaryWriter()
        limited.writeBytesRaw(Array("SFB2".utf8))
        limited.writeVarint(1); limited.writeFixed64(1); limited.writeVarint(0); limited.writeVarint(1)
        limited.writeVarint(200_000)  // more commits than the limit
        let padded = limited.bytes + [UInt8](repeating: 0, count: 1_000_000)
        #expect(throws: MalformedDataError.self) { try ChangeBatch(decoding: padded, limits: .init(maxChanges: 100_000)) }
    }

    @Test(arguments: [UInt64(1) << 63, UInt64.max, UInt64(Int64.max)])
    func sequenceNumbersBeyondTheStoredRangeAreRefused(firstSeq: UInt64) {
        var writer = BinaryWriter()
        writer.writeBytesRaw(Array("SFB2".utf8))
        writer.writeVarint(1); writer.writeFixed64(7); writer.writeVarint(0)
        writer.writeVarint(firstSeq); writer.writeVarint(2)
        writer.writeBytes([0]); writer.writeBytes([0])
        writer.writeBytesRaw([UInt8](repeating: 0, count: 64))
        #expect(throws: MalformedDataError.self) { try ChangeBatch(decoding: writer.bytes) }
    }

    @Test func changesSinceReturnsOnlyWhatIsMissing() throws {
        let source = try makeReplica(1)
        for chunk in 0..<20 {
            try source.write { tx in
                for index in 0..<100 { try tx.insert(into: "entry", values: ["body": "\(chunk)-\(index)"]) }
            }
        }
        let peer = try source.versionVector()
        for index in 0..<10 { try source.write { try $0.insert(into: "entry", values: ["body": "new-\(index)"]) } }
        let (batch, next) = try source.changes(since: peer)
        #expect(batch.changeCount == 10)
        #expect(next == nil)
        #expect(batch.segments.map { [$0.origin.rawValue, $0.firstSeq, $0.lastSeq] } == [[1, 21, 30]])
    }

    @Test func aCommitLargerThanAPageTravelsWhole() throws {
        let source = try makeReplica(1), target = try makeReplica(2)
        try source.write { tx in for index in 0..<50 { try tx.insert(into: "entry", values: ["body": "\(index)"]) } }
        try source.write { try $0.insert(into: "entry", values: ["body": "last"]) }
        let first = try source.changes(since: VersionVector(), maxChanges: 10)
        #expect(first.batch.changeCount == 50)
        #expect(first.batch.segments.map(\.lastSeq) == [1])
        try target.apply(first.batch)
        let second = try source.changes(since: VersionVector(), after: first.next, maxChanges: 10)
        #expect(second.batch.changeCount == 1)
        try target.apply(second.batch)
        #expect(try target.versionVector() == source.versionVector())
    }

    @Test func pagesAreBoundedInBytesAsWellAsRows() throws {
        let source = try makeReplica(1), target = try makeReplica(2)
        let big = String(repeating: "x", count: 100_000)
        for index in 0..<20 { try source.write { try $0.insert(into: "entry", values: ["body": "\(index)\(big)"]) } }
        var cursor: ChangeCursor?
        var pages = 0
        repeat {
            let page = try source.changes(since: try target.versionVector(), after: cursor, maxChanges: 10_000, maxBytes: 300_000)
            #expect(page.batch.segments.flatMap(\.bodies).reduce(0) { $0 + $1.count } <= 400_000)
            try target.apply(page.batch)
            cursor = page.next
            pages += 1
        } while cursor != nil
        #expect(pages >= 6)
        #expect(try target.canonicalDump() == source.canonicalDump())
    }
}

/// Text read from a peer is valid UTF-8 or refused, never repaired into something else.
@Suite("Text on the wire")
struct WireTextTests {
    static func read(_ bytes: [UInt8]) -> String? {
        var reader = BinaryReader([UInt8(bytes.count)] + bytes)
        return try? reader.readString()
    }

    @Test func validTextIsReadAsItIsAndInvalidUTF8IsRefused() {
        #expect(Self.read(Array("满意度 survey".utf8)) == "满意度 survey")
        #expect(Self.read([]) == "")
        #expect(Self.read([0xEF, 0xBF, 0xBD]) == "\u{FFFD}", "a replacement character sent as such is text")
        #expect(Self.read([0x61, 0x00, 0x62]) == "a\u{0}b", "NUL is valid UTF-8 (the value rules refuse it later)")
        for invalid: [UInt8] in [[0xFF], [0xE4, 0xB8], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0x61, 0x80], [0xF4, 0x90, 0x80, 0x80]] {
            #expect(Self.read(invalid) == nil, "\(invalid)")
        }
    }
}
