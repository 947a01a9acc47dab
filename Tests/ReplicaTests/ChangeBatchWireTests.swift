import GRDB
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
        let gone = try replica.write { try $0.insert(into: "item", values: ["name": "gone"]) }
        try replica.write { try $0.delete(from: "item", id: gone) }
        try replica.write { try $0.insert(into: "entry", values: ["body": "b", "score": -7]) }
        return try replica.changes(since: VersionVector()).batch
    }

    @Test func roundTripsEveryKindOfChange() throws {
        let batch = try sampleBatch()
        #expect(batch.changes.count == 3)
        #expect(try ChangeBatch(decoding: batch.encoded()) == batch)
    }

    @Test func everyTruncationIsRefusedWithoutTrapping() throws {
        let bytes = try sampleBatch().encoded()
        for length in 0..<bytes.count {
            #expect(throws: MalformedDataError.self) { try ChangeBatch(decoding: Array(bytes.prefix(length))) }
        }
    }

    @Test func corruptedBytesNeverTrapAndNeverApplyHalfABatch() throws {
        let bytes = try sampleBatch().encoded()
        var random = SplitMix64(seed: 42)
        let target = try makeReplica(2)
        for _ in 0..<2000 {
            var corrupted = bytes
            for _ in 0..<(1 + Int(random.next() % 3)) {
                corrupted[Int(random.next() % UInt64(corrupted.count))] = UInt8(truncatingIfNeeded: random.next())
            }
            guard let batch = try? ChangeBatch(decoding: corrupted) else { continue }
            let before = try target.canonicalDump()
            do {
                try target.apply(batch)
            } catch let error as ReplicaError {
                #expect([.incompatibleBatch, .invalidValue].contains(error.code))
                #expect(try target.canonicalDump() == before, "a refused batch changed the replica")
            }
        }
    }

    @Test func hugeCountsAreRefusedBeforeAllocating() {
        var writer = BinaryWriter()
        for byte in "SFB1".utf8 { writer.writeByte(byte) }
        writer.writeVarint(UInt64.max >> 1)  // coverage count
        #expect(throws: MalformedDataError.self) { try ChangeBatch(decoding: writer.bytes) }
        var limited = BinaryWriter()
        for byte in "SFB1".utf8 { limited.writeByte(byte) }
        limited.writeVarint(0); limited.writeVarint(1); limited.writeString("item")
        limited.writeVarint(200_000)  // more changes than the limit
        let padded = limited.bytes + [UInt8](repeating: 0, count: 1_000_000)
        #expect(throws: MalformedDataError.self) { try ChangeBatch(decoding: padded, limits: .init(maxChanges: 100_000)) }
    }

    @Test func aBatchNamingAnUndeclaredTableIsRefusedWhole() throws {
        let target = try makeReplica(2)
        var batch = try sampleBatch()
        batch.changes.append(RowChange(table: "secretTable", key: "k", body: .tombstone(Stamp(hlc: HLC(rawValue: 1), origin: NodeID(1), seq: 1))))
        let error = #expect(throws: ReplicaError.self) { try target.apply(batch) }
        #expect(error?.code == .incompatibleBatch)
        #expect(try target.statistics().rows["item"] == 0)
        #expect(try target.versionVector() == VersionVector())
    }

    @Test func errorsNeverCarryValues() throws {
        let target = try makeReplica(2)
        let patientName = "张三 13800138000"
        let batch = ChangeBatch(changes: [RowChange(table: "item", key: "k1", body: .row(values: [patientName.databaseValue], meta: [1]))])
        let error = #expect(throws: ReplicaError.self) { try target.apply(batch) }
        #expect(!(error?.description.contains("13800138000") ?? true))
        let wrongType = #expect(throws: ReplicaError.self) {
            try target.write { try $0.insert(into: "item", values: ["visits": patientName]) }
        }
        #expect(!(wrongType?.description.contains("13800138000") ?? true))
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
        #expect(batch.changes.count == 10)
        #expect(next == nil)
        #expect(batch.coverage == [Coverage(origin: NodeID(1), after: 20, upTo: 30)])
    }

    @Test func aCommitLargerThanAPageTravelsWhole() throws {
        let source = try makeReplica(1), target = try makeReplica(2)
        try source.write { tx in for index in 0..<50 { try tx.insert(into: "entry", values: ["body": "\(index)"]) } }
        try source.write { try $0.insert(into: "entry", values: ["body": "last"]) }
        let first = try source.changes(since: VersionVector(), maxChanges: 10)
        #expect(first.batch.changes.count == 50)
        #expect(first.batch.coverage == [Coverage(origin: NodeID(1), after: 0, upTo: 1)])
        try target.apply(first.batch)
        let second = try source.changes(since: VersionVector(), after: first.next, maxChanges: 10)
        #expect(second.batch.changes.count == 1)
        try target.apply(second.batch)
        #expect(try target.versionVector() == source.versionVector())
    }
}
