import Foundation
import GRDB
import TestSupport
import Testing

@testable import Replica

/// Long runs are hashed and decoded on a second core while the writer merges (``PreparedRun``):
/// what a forged long run or a rule broken in its middle leaves behind must be what it was when
/// the signature was checked first.
@Suite("Runs prepared on a second core: same verdicts as checking first")
struct PreparedRunTests {
    /// A ward's run of `count` visits, long enough (bodies past 64 KiB) to be prepared on a worker;
    /// commit `brokenAt`, when given, writes a table a ward may not write.
    static func longRun(count: Int = 400, brokenAt: Int? = nil) throws -> ChainSegment {
        var chain = ChainWriter(authority: trust(2), policies: trustPolicies)
        let note = String(repeating: "n", count: 300)
        for index in 0..<count {
            let at = HLC(milliseconds: 1_780_000_000_000 + UInt64(index), counter: 0)
            if index == brokenAt {
                try chain.commit(inserting: [("account", "A\(index)", ["admin".databaseValue, "hash".databaseValue])], at: at)
            } else {
                try chain.commit(inserting: [("visit", "V\(index)", ["open".databaseValue, .null, note.databaseValue])], at: at)
            }
        }
        let segment = chain.segment()
        #expect(segment.bodies.reduce(0) { $0 + $1.count } >= PreparedRun.minimumForWorker, "long enough for the worker")
        return segment
    }

    @Test func aLongSignedRunIsMergedWhole() throws {
        let central = try makeTrustReplica(1)
        let report = try central.apply(ChangeBatch(segments: [try Self.longRun()]))
        #expect(report.commitsApplied == 400)
        #expect(try central.statistics().rows["visit"] == 400)
        #expect(try central.versionVector()[NodeID(2)] == 400)
    }

    @Test func aLongForgedRunLeavesNothingBehind() throws {
        let central = try makeTrustReplica(1)
        var forged = try Self.longRun()
        forged.signature[5] ^= 1
        let error = #expect(throws: ReplicaError.self) { try central.apply(ChangeBatch(segments: [forged])) }
        #expect(error?.code == .forgedCommit)
        #expect(try central.statistics().rows["visit"] ?? 0 == 0, "rows merged before the signature was known are taken back")
        #expect(try central.versionVector() == VersionVector())
    }

    @Test func aRuleBrokenInAForgedRunQuarantinesNobody() throws {
        let central = try makeTrustReplica(1)
        var forged = try Self.longRun(brokenAt: 200)
        forged.signature[5] ^= 1
        let error = #expect(throws: ReplicaError.self) { try central.apply(ChangeBatch(segments: [forged])) }
        #expect(error?.code == .forgedCommit, "forged first: the broken rule is not the origin's")
        #expect(try central.quarantines().isEmpty)
        #expect(try central.statistics().rows["visit"] ?? 0 == 0)
    }

    @Test func aRuleBrokenInASignedRunQuarantinesFromThere() throws {
        let central = try makeTrustReplica(1)
        let report = try central.apply(ChangeBatch(segments: [try Self.longRun(brokenAt: 200)]))
        #expect(report.commitsApplied == 200)
        #expect(try central.statistics().rows["visit"] == 200)
        #expect(try central.quarantines().map(\.seq) == [201])
    }
    /// Origin 2's commits as a log stores them: packs, then loose commits.
    static func storedLog(_ replica: Replica) throws -> [[DatabaseValue]] {
        try replica.reader.read { db in
            try Row.fetchAll(db, sql: "SELECT id, firstSeq, hash, bodies FROM _sf_commit_pack ORDER BY id").map { Array($0.databaseValues) }
                + Row.fetchAll(db, sql: "SELECT id, hash, body FROM _sf_commit ORDER BY id").map { Array($0.databaseValues) }
        }
    }

    @Test func aLongRunAfterLooseCommitsIsPackedAsShortRunsWouldBe() throws {
        // The same 450 commits, as 50 then 400 (a long run: its packs are made on the worker, the
        // first one starting with the 50 loose commits) and as runs of 15 (each merged alone).
        func chain(cuttingEvery cuts: Set<Int>) throws -> [ChainSegment] {
            var chain = ChainWriter(authority: trust(2), policies: trustPolicies)
            var segments: [ChainSegment] = []
            for index in 0..<450 {
                let at = HLC(milliseconds: 1_780_000_000_000 + UInt64(index), counter: 0)
                try chain.commit(inserting: [("visit", "V\(index)", ["open".databaseValue, .null, String(repeating: "n", count: 300).databaseValue])], at: at)
                if cuts.contains(index + 1) { segments.append(chain.segment()) }
            }
            return segments
        }
        let long = try makeTrustReplica(1), short = try makeTrustReplica(1)
        for segment in try chain(cuttingEvery: [50, 450]) { try long.apply(ChangeBatch(segments: [segment])) }
        for segment in try chain(cuttingEvery: Set(stride(from: 15, through: 450, by: 15))) { try short.apply(ChangeBatch(segments: [segment])) }
        #expect(try long.versionVector()[NodeID(2)] == 450 && short.versionVector()[NodeID(2)] == 450)
        let log = try Self.storedLog(long)
        #expect(log == (try Self.storedLog(short)))
        #expect(log.filter { $0.count == 4 }.count == 3, "three packs of 128, 66 loose")
    }

    @Test func packsMadeAheadAreStoredOnlyWhereTheyFit() throws {
        let origin = NodeID(2)
        let commits = (1...300).map {
            CommitStore.StoredCommit(seq: UInt64($0), hash: [UInt8](repeating: UInt8($0 % 251), count: 32), body: Array("commit \($0)".utf8))
        }
        func stored(_ prepared: [PreparedPack]) throws -> [[DatabaseValue]] {
            let replica = try makeTrustReplica(1)
            try replica.writer.write { db in try CommitStore(db: db).append(origin: origin, commits, prepared: prepared) }
            return try Self.storedLog(replica)
        }
        let expected = try stored([])
        var builder = try #require(PackBuilder(after: PackLead(firstSeq: 1, bodies: [])))
        for commit in commits { builder.add(seq: commit.seq, hash: commit.hash, body: commit.body) }
        #expect(builder.packs.map(\.lastSeq) == [128, 256])
        #expect(try stored(builder.packs) == expected, "the packs made ahead are the store's own")
        var wrongHash = builder.packs
        wrongHash[0].lastHash[0] ^= 1
        wrongHash[0].bodies = [0xFF]
        #expect(try stored(wrongHash) == expected, "a pack ending at another history is not stored")
        #expect(try stored(Array(builder.packs.dropFirst())) == expected, "a pack that does not continue the packs is not stored")
        var beyond = builder.packs
        beyond[1].lastSeq = 301
        beyond[1].bodies = [0xFF]
        #expect(try stored(beyond) == expected, "a pack past the commits appended is not stored")
    }
}
