import GRDB
import Synchronization
import TestSupport
import Testing

@testable import Replica

@Suite("Tombstones, clocks and the write guard")
struct TombstoneAndClockTests {
    @Test func noResurrectionWhenAnOlderUpdateArrivesAfterTheDelete() throws {
        let clock = TestClock()
        let a = try makeReplica(1, clock: clock), b = try makeReplica(2, clock: clock), c = try makeReplica(3, clock: clock)
        let id = try a.write { try $0.insert(into: "item", values: ["name": "x"]) }
        try sync(a, into: b); try sync(a, into: c)
        clock.advance(by: 100)
        try b.write { try $0.update("item", id: id, set: ["name": "late update"]) }  // concurrent and *later* by clock
        try a.write { try $0.delete(from: "item", id: id) }
        try sync(a, into: c)
        try sync(b, into: c)  // the update arrives after the delete
        try sync(c, into: b)
        #expect(try value(c, "item", id, "name") == nil)
        #expect(try value(b, "item", id, "name") == nil)
        #expect(throws: ReplicaError.self) { try c.write { try $0.update("item", id: id, set: ["name": "again"]) } }
        #expect(throws: ReplicaError.self) { try c.write { try $0.insert(into: "item", values: [:], id: id) } }
        try sync(c, into: a); try sync(b, into: a); try sync(a, into: b); try sync(a, into: c)
        #expect(try a.canonicalDump() == b.canonicalDump())
        #expect(try b.canonicalDump() == c.canonicalDump())
    }

    @Test func aClockFarInTheFutureDoesNotWinLaterEditsForeverAndIsReported() throws {
        let now = TestClock()
        let central = try makeReplica(1, clock: now)
        let skewedTablet = try makeReplica(2, clock: TestClock(now.now() + 365 * 24 * 3_600_000))
        let id = try central.write { try $0.insert(into: "item", values: ["name": "original"]) }
        try sync(central, into: skewedTablet)
        try skewedTablet.write { try $0.update("item", id: id, set: ["name": "from the future"]) }
        try sync(skewedTablet, into: central)
        #expect(try value(central, "item", id, "name") == "from the future".databaseValue)
        #expect(try central.clockSkewReports().map(\.origin) == [NodeID(2)])
        // Central's clock did not jump a year ahead…
        let centralClock = central.clock.withLock { $0.last }
        #expect(centralClock.milliseconds <= now.now() + 5 * 60 * 1000)
        // …yet an edit made after seeing the future value wins, here and on the tablet.
        try central.write { try $0.update("item", id: id, set: ["name": "corrected"]) }
        try sync(central, into: skewedTablet)
        #expect(try value(skewedTablet, "item", id, "name") == "corrected".databaseValue)
    }

    @Test func hybridClockIsMonotonicAndAdvancesOnReceive() {
        let wall = TestClock(1000)
        var clock = HybridLogicalClock(wallClock: wall, maximumForwardSkew: 60_000)
        let first = clock.tick(), second = clock.tick()
        #expect(first < second)
        #expect(clock.observe(HLC(milliseconds: 5000, counter: 3), from: NodeID(9)) == nil)
        #expect(clock.tick() > HLC(milliseconds: 5000, counter: 3))
        wall.set(500)  // the wall clock steps back: the HLC does not
        #expect(clock.tick() > HLC(milliseconds: 5000, counter: 4))
        let report = clock.observe(HLC(milliseconds: 10_000_000, counter: 0), from: NodeID(9))
        #expect(report?.aheadMilliseconds == 10_000_000 - 500)
        #expect(clock.last.milliseconds <= 500 + 60_000)
    }

    @Test func writesAroundTheReplicaAreRefused() throws {
        let replica = try makeReplica(1)
        #expect(throws: DatabaseError.self) {
            try replica.reader.unsafeReentrantRead { _ in }  // reads are fine
            try (replica.reader as! any DatabaseWriter).write { db in
                try db.execute(sql: "INSERT INTO item (id, name, _sf_meta) VALUES ('x', 'y', x'01')")
            }
        }
        #expect(throws: DatabaseError.self) {
            try replica.write { tx in
                try tx.db.execute(sql: "UPDATE item SET name = 'y'"); try tx.db.execute(sql: "DELETE FROM entry");
                try tx.db.execute(sql: "INSERT INTO entry (id, body, _sf_meta) VALUES ('a','b',x'01')")
            }
        }
        #expect(try replica.statistics().rows["entry"] == 0)
    }

    /// A transaction that writes a replicated table around the API keeps nothing, the API's own
    /// writes in it included; an autocommit statement is refused too, whatever the table name's
    /// case; local tables and the API go on.
    @Test func aTransactionWritingAroundTheReplicaIsRefusedWholeAndTheReplicaGoesOn() throws {
        let file = TemporaryDatabase("guard")
        let replica = try Replica.open(at: file.path, configuration: ReplicaConfiguration(nodeID: NodeID(1), policies: testPolicies))
        var refused: (any Error)?
        do {
            try replica.write { tx in
                _ = try tx.insert(into: "entry", values: ["body": "through the API"])
                try tx.db.execute(sql: "UPDATE entry SET body = 'around it'")
            }
        } catch {
            refused = error
        }
        #expect("\(refused.map { "\($0)" } ?? "nothing thrown")".contains("write through the Replica API"))
        #expect(try replica.statistics().rows["entry"] == 0)
        _ = try replica.write { tx in try tx.insert(into: "item", values: ["name": "kept"]) }
        #expect(throws: DatabaseError.self) {
            try replica.writer.writeWithoutTransaction { db in try db.execute(sql: "DELETE FROM item") }
        }
        #expect(throws: DatabaseError.self) {
            try replica.writer.writeWithoutTransaction { db in try db.execute(sql: "INSERT INTO \"ITEM\" (id, name, _sf_meta) VALUES ('x', 'y', x'01')") }
        }
        #expect(try replica.statistics().rows["item"] == 1)
        // Writes to the node's own tables and through the API go on.
        try replica.writer.write { db in try db.execute(sql: "CREATE TABLE IF NOT EXISTS local_note (id INTEGER PRIMARY KEY, body TEXT)") }
        try replica.writer.write { db in try db.execute(sql: "INSERT INTO local_note (body) VALUES ('not replicated')") }
        _ = try replica.write { tx in try tx.insert(into: "entry", values: ["body": "through the API"]) }
        #expect(try replica.statistics().rows["entry"] == 1)
    }

    /// A queue the node opens on a replica's file for its own upkeep (re-keying, backups) writes
    /// no replicated table either (the guard's function exists only on the replica's connections).
    @Test func aQueueOnTheReplicasFileWritesNoReplicatedTable() throws {
        let file = TemporaryDatabase("guard-queue")
        do {
            let replica = try Replica.open(at: file.path, configuration: ReplicaConfiguration(nodeID: NodeID(1), policies: testPolicies))
            _ = try replica.write { tx in try tx.insert(into: "entry", values: ["body": "kept"]) }
        }
        let queue = try ReplicaFile(path: file.path, encryption: nil).queue()
        #expect(throws: DatabaseError.self) {
            try queue.write { db in try db.execute(sql: "DELETE FROM entry") }
        }
        #expect(throws: DatabaseError.self) {
            try queue.write { db in try db.execute(sql: "UPDATE entry SET body = 'around it'") }
        }
        #expect(throws: DatabaseError.self) {
            try queue.write { db in try db.execute(sql: "INSERT INTO entry (id, body, _sf_meta) VALUES ('x', 'y', x'01')") }
        }
        #expect(try queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM entry") } == 1)
        try queue.writeWithoutTransaction { db in _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    @Test func rowIDsAreULIDsGeneratedOffline() throws {
        let replica = try makeReplica(1)
        let ids = try (0..<100).map { _ in try replica.write { try $0.insert(into: "entry", values: ["body": "b"]) } }
        #expect(Set(ids).count == 100)
        #expect(ids.allSatisfy(RowIDGenerator.isValid))
    }

    @Test func versionVectorCountsLocalCommits() throws {
        let replica = try makeReplica(7)
        try replica.write { tx in
            try tx.insert(into: "entry", values: ["body": "1"])
            try tx.insert(into: "entry", values: ["body": "2"])
        }
        try replica.write { try $0.insert(into: "entry", values: ["body": "3"]) }
        try replica.write { _ in }  // an empty transaction is not a commit
        #expect(try replica.versionVector() == VersionVector([NodeID(7): 2]))
    }

    @Test func eventsReportLocalAndRemoteCommits() async throws {
        let a = try makeReplica(1), b = try makeReplica(2)
        let events = b.events()
        let id = try await a.write { try $0.insert(into: "entry", values: ["body": "x"]) }
        try await b.write { try $0.insert(into: "entry", values: ["body": "y"]) }
        let (batch, _) = try a.changes(since: VersionVector())
        try await b.apply(batch)
        var iterator = events.makeAsyncIterator()
        let local = await iterator.next()
        let remote = await iterator.next()
        #expect(local?.source == .local)
        #expect(remote?.source == .remote)
        #expect(remote?.rows["entry"] == [id])
    }

    /// What a peer lacks, counted from vectors a hostile peer may fill with any numbers: saturates.
    @Test func commitsAheadCountsWhatTheOtherLacksAndSaturates() {
        let ours = VersionVector([NodeID(1): 10, NodeID(2): 3]), theirs = VersionVector([NodeID(1): 4, NodeID(3): 7])
        #expect(ours.commitsAhead(of: theirs) == 6 + 3)
        #expect(theirs.commitsAhead(of: ours) == 7)
        #expect(ours.commitsAhead(of: ours) == 0)
        let huge = VersionVector([NodeID(1): .max, NodeID(2): .max, NodeID(3): .max])
        #expect(huge.commitsAhead(of: VersionVector()) == .max)
    }
}
