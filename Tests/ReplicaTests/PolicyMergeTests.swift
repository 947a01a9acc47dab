import GRDB
import TestSupport
import Testing

@testable import Replica

@Suite("Conflict policies, one kind at a time")
struct PolicyMergeTests {
    let clockA = TestClock(), clockB = TestClock()

    func pair() throws -> (Replica, Replica, String) {
        let a = try makeReplica(1, clock: clockA), b = try makeReplica(2, clock: clockB)
        let id = try a.write { tx in
            try tx.insert(into: "item", values: ["name": "n0", "status": "registered", "visits": 1, "firstSeen": 10, "phone": "138-0000", "tags": SetCodec.encode(["vip"])])
        }
        try sync(a, into: b)
        return (a, b, id)
    }

    @Test func lastWriterWinsKeepsTheLaterWriteOnBothSides() throws {
        let (a, b, id) = try pair()
        try a.write { try $0.update("item", id: id, set: ["name": "from-a"]) }
        clockB.advance(by: 10)
        try b.write { try $0.update("item", id: id, set: ["name": "from-b"]) }
        try sync(a, into: b); try sync(b, into: a)
        #expect(try value(a, "item", id, "name") == "from-b".databaseValue)
        #expect(try a.canonicalDump() == b.canonicalDump())
    }

    @Test func lastWriterWinsTieBreaksOnValueThenNode() throws {
        let (a, b, id) = try pair()
        clockA.set(1_790_000_000_000); clockB.set(1_790_000_000_000)
        try a.write { try $0.update("item", id: id, set: ["name": "zzz"]) }
        try b.write { try $0.update("item", id: id, set: ["name": "aaa"]) }
        try sync(a, into: b); try sync(b, into: a)
        #expect(try value(b, "item", id, "name") == "zzz".databaseValue)
        #expect(try a.canonicalDump() == b.canonicalDump())
    }

    @Test func firstWriterWinsKeepsTheEarliestClaimAndReportsTheLoser() throws {
        let (a, b, id) = try pair()
        try a.write { try $0.update("item", id: id, set: ["claimedBy": "agent-a"]) }
        clockB.advance(by: 5)
        try b.write { try $0.update("item", id: id, set: ["claimedBy": "agent-b"]) }
        try sync(a, into: b); try sync(b, into: a)
        #expect(try value(a, "item", id, "claimedBy") == "agent-a".databaseValue)
        #expect(try value(b, "item", id, "claimedBy") == "agent-a".databaseValue)
        let lost = try b.lostWrites()
        #expect(lost == [LostWrite(table: "item", key: id, column: "claimedBy", loser: NodeID(2), winner: NodeID(1))])
        #expect(throws: ReplicaError.self) { try b.write { try $0.update("item", id: id, set: ["claimedBy": "agent-b"]) } }
    }

    @Test func maxAndMinKeepTheExtremes() throws {
        let (a, b, id) = try pair()
        try a.write { try $0.update("item", id: id, set: ["visits": 7, "firstSeen": 3]) }
        try b.write { try $0.update("item", id: id, set: ["visits": 5, "firstSeen": 1]) }
        try a.write { try $0.update("item", id: id, set: ["visits": 2]) }  // lower: no effect
        try sync(a, into: b); try sync(b, into: a)
        #expect(try value(a, "item", id, "visits") == 7.databaseValue)
        #expect(try value(a, "item", id, "firstSeen") == 1.databaseValue)
        #expect(try a.canonicalDump() == b.canonicalDump())
    }

    @Test func lifecycleKeepsTheFurthestStateAndRefusesGoingBack() throws {
        let (a, b, id) = try pair()
        try a.write { try $0.update("item", id: id, set: ["status": "handled"]) }
        clockB.advance(by: 1000)
        try b.write { try $0.update("item", id: id, set: ["status": "accepted"]) }
        try sync(a, into: b); try sync(b, into: a)
        #expect(try value(b, "item", id, "status") == "handled".databaseValue)
        let error = #expect(throws: ReplicaError.self) { try b.write { try $0.update("item", id: id, set: ["status": "investigating"]) } }
        #expect(error?.code == .lifecycleRegression)
        #expect(throws: ReplicaError.self) { try b.write { try $0.update("item", id: id, set: ["status": "reopened"]) } }
    }

    @Test func keepBothOpensAConflictThatAResolutionClosesEverywhere() throws {
        let (a, b, id) = try pair()
        try a.write { try $0.update("item", id: id, set: ["phone": "139-1111"]) }
        try b.write { try $0.update("item", id: id, set: ["phone": "139-2222"]) }
        try sync(a, into: b); try sync(b, into: a)
        let conflicts = try a.openConflicts()
        #expect(conflicts.count == 1)
        #expect(Set(conflicts[0].candidates.map(\.value)) == ["139-1111".databaseValue, "139-2222".databaseValue])
        #expect(try b.openConflicts() == conflicts)
        try b.write { try $0.update("item", id: id, set: ["phone": "139-2222"]) }
        try sync(b, into: a)
        #expect(try a.openConflicts().isEmpty)
        #expect(try value(a, "item", id, "phone") == "139-2222".databaseValue)
        #expect(try a.canonicalDump() == b.canonicalDump())
    }

    @Test func keepBothSequentialEditsAreNotConflicts() throws {
        let (a, b, id) = try pair()
        try a.write { try $0.update("item", id: id, set: ["phone": "1"]) }
        try sync(a, into: b)
        try b.write { try $0.update("item", id: id, set: ["phone": "2"]) }
        try b.write { try $0.update("item", id: id, set: ["phone": "3"]) }
        try sync(b, into: a)
        #expect(try a.openConflicts().isEmpty)
        #expect(try value(a, "item", id, "phone") == "3".databaseValue)
    }

    @Test func addWinsSetKeepsAConcurrentAddOverARemove() throws {
        let (a, b, id) = try pair()
        try a.write { try $0.removeElement("vip", from: "tags", of: "item", id: id) }
        try b.write { try $0.addElement("vip", to: "tags", of: "item", id: id) }
        try b.write { try $0.addElement("diabetes", to: "tags", of: "item", id: id) }
        try sync(a, into: b); try sync(b, into: a)
        #expect(SetCodec.decode(try value(a, "item", id, "tags")!) == ["diabetes", "vip"])
        try a.write { try $0.removeElement("vip", from: "tags", of: "item", id: id) }
        try sync(a, into: b)
        #expect(SetCodec.decode(try value(b, "item", id, "tags")!) == ["diabetes"])
        #expect(try a.canonicalDump() == b.canonicalDump())
    }

    /// Canonically equivalent spellings of a set element ("café" typed as one code point on one
    /// tablet, as "e" and a combining accent on another, or a hostile writer's look-alike) are two
    /// elements: every replica ends with both, in the same byte order, whichever arrived first,
    /// and removing one spelling removes that one only.
    @Test func equivalentSpellingsOfASetElementStayTwoElementsOnEveryReplica() throws {
        let (a, b, id) = try pair()
        let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
        try a.write { try $0.addElement(composed, to: "tags", of: "item", id: id) }
        try b.write { try $0.addElement(decomposed, to: "tags", of: "item", id: id) }
        try sync(a, into: b); try sync(b, into: a)
        func tags(_ replica: Replica) throws -> [String] { SetCodec.decode(try value(replica, "item", id, "tags")!) ?? [] }
        for replica in [a, b] {
            #expect(try tags(replica).map { Array($0.utf8) } == [decomposed, composed, "vip"].map { Array($0.utf8) })
        }
        #expect(try a.canonicalDump() == b.canonicalDump())
        try a.write { try $0.removeElement(decomposed, from: "tags", of: "item", id: id) }
        try sync(a, into: b)
        #expect(try tags(b).map { Array($0.utf8) } == [composed, "vip"].map { Array($0.utf8) })
        // A whole set written at once keeps both spellings too.
        try b.write { try $0.update("item", id: id, set: ["tags": SetCodec.encode([composed, decomposed])]) }
        try sync(b, into: a)
        #expect(try tags(a).map { Array($0.utf8) } == [decomposed, composed].map { Array($0.utf8) })
        #expect(try a.canonicalDump() == b.canonicalDump())
    }

    /// A lifecycle state is matched byte for byte: "O\u{212A}" (a Kelvin sign) looks like state
    /// "OK" to Swift's `String` equality but is no state of the column (SQL filters and the archive
    /// would not see it as one).
    @Test func aLookAlikeOfALifecycleStateIsRefused() throws {
        let policies = try PolicySet(parsing: "table task\n  key id\n  column status text lifecycle NEW OK\n")
        let replica = try Replica.inMemory(configuration: ReplicaConfiguration(nodeID: NodeID(1), policies: policies))
        let id = try replica.write { try $0.insert(into: "task", values: ["status": "NEW"]) }
        #expect(throws: ReplicaError.self) { try replica.write { try $0.update("task", id: id, set: ["status": "O\u{212A}"]) } }
        try replica.write { try $0.update("task", id: id, set: ["status": "OK"]) }
    }

    @Test func appendOnlyRowsRefuseLocalChangesAndRejectRemoteOnes() throws {
        let a = try makeReplica(1, clock: clockA), b = try makeReplica(2, clock: clockB)
        let id = try a.write { try $0.insert(into: "entry", values: ["body": "ok", "score": 9]) }
        #expect(throws: ReplicaError.self) { try a.write { try $0.update("entry", id: id, set: ["score": 1]) } }
        #expect(throws: ReplicaError.self) { try a.write { try $0.delete(from: "entry", id: id) } }
        try sync(a, into: b)
        // A forged later version of the same row from a third node is rejected, never applied.
        let forger = try makeReplica(3, clock: TestClock(1_790_000_000_000))
        try forger.write { try $0.insert(into: "entry", values: ["body": "forged", "score": 0], id: id) }
        try sync(forger, into: b)
        #expect(try value(b, "entry", id, "body") == "ok".databaseValue)
        #expect(try b.rejections().map(\.origin) == [NodeID(3)])
        // Resubmitting the same content is accepted once.
        try sync(a, into: b)
        #expect(try b.statistics().rows["entry"] == 1)
    }
}

@Suite("Batched fast path")
struct BatchedMergeTests {
    @Test func aKeyRepeatedInsideOneBatchMergesLikeTwoBatches() throws {
        let first = try makeReplica(1, clock: TestClock(1_780_000_000_000))
        let second = try makeReplica(2, clock: TestClock(1_780_000_000_500))
        try first.write { try $0.insert(into: "entry", values: ["body": "early", "score": 1], id: "E1") }
        try second.write { try $0.insert(into: "entry", values: ["body": "late", "score": 2], id: "E1") }
        let late = try second.changes(since: VersionVector()).batch, early = try first.changes(since: VersionVector()).batch
        let together = try makeReplica(3), apart = try makeReplica(4)
        try together.apply(ChangeBatch(segments: late.segments + early.segments))
        try apart.apply(late)
        try apart.apply(early)
        #expect(try value(together, "entry", "E1", "body") == "early".databaseValue)
        #expect(try together.canonicalDump() == apart.canonicalDump())
        #expect(try together.rejections().count == 1)
    }
}
