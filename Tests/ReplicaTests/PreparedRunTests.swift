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
}
