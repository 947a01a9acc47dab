import Foundation
import GRDB
import TestSupport
import Testing

@testable import Replica

/// Nodes on two releases: the newer one declares a column more on a table and a table more. The
/// older one merges what it declares, keeps and relays the rest whole, and merges it once upgraded.
@Suite("Mixed releases")
struct MixedReleaseTests {
    static let newerText =
        testPolicyText.replacingOccurrences(of: "column score integer", with: "column score integer\n  column mood text")
        .replacingOccurrences(of: "column tags text add-wins-set", with: "column tags text add-wins-set\n  column remark text")
            + """

            table note
              key id
              column text text not null
              column rank integer max
            """
    static let newer = try! PolicySet(parsing: newerText, file: "newer.policy")

    func newerReplica(_ node: UInt64) throws -> Replica {
        try Replica.inMemory(configuration: ReplicaConfiguration(nodeID: NodeID(node), policies: Self.newer, rowIDSeed: node))
    }

    func olderReplica(at path: String, _ node: UInt64, policies: PolicySet = testPolicies) throws -> Replica {
        try Replica.open(at: path, configuration: ReplicaConfiguration(nodeID: NodeID(node), policies: policies, rowIDSeed: node))
    }

    func unread(_ replica: Replica) throws -> Int {
        try replica.reader.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM _sf_unread") ?? 0 }
    }

    /// The newer node writes an entry with a mood, a note, and changes a mood later.
    func writeOnNewer(_ newer: Replica) throws -> String {
        let entry = try newer.write { tx in try tx.insert(into: "entry", values: ["body": "hello", "score": 3, "mood": "glad"]) }
        _ = try newer.write { tx in try tx.insert(into: "note", values: ["text": "a newer table", "rank": 2]) }
        let item = try newer.write { tx in try tx.insert(into: "item", values: ["name": "kept", "visits": 1]) }
        _ = try newer.write { tx in try tx.update("item", id: item, set: ["visits": 5]) }
        return entry
    }

    @Test func theSharedSchemaIsWhatBothDeclareAndRefusesAnythingButAdditions() throws {
        let shared = try SharedSchema(testPolicies, Self.newer)
        #expect(shared.columns == ["item": 7, "entry": 2] && !shared.isWhole)
        #expect(shared.fingerprint != SharedSchema(whole: Self.newer).fingerprint)
        #expect(try SharedSchema(Self.newer, testPolicies) == shared)
        #expect(try SharedSchema(testPolicies, testPolicies).isWhole)
        #expect(try PolicySet(parsing: Self.newer.canonicalText).contentHash == Self.newer.contentHash, "the canonical text parses back")
        for (broken, why) in [
            (testPolicyText.replacingOccurrences(of: "column score integer", with: "column score text"), "declared differently"),
            (testPolicyText.replacingOccurrences(of: "column score integer", with: "column score integer\n  column mood text not null"), "not null"),
            (testPolicyText.replacingOccurrences(of: "table entry append-only", with: "table entry"), "declared differently"),
            (testPolicyText.replacingOccurrences(of: "closed", with: "closed reopened"), "declared differently"),
        ] {
            let other = try PolicySet(parsing: broken)
            #expect(performing: { try SharedSchema(testPolicies, other) }, throws: { "\($0)".contains(why) })
        }
    }

    @Test func aNewerNodesColumnAndTableSurviveATripThroughAnOlderNode() throws {
        let file = TemporaryDatabase("mixed-trip")
        defer { file.remove() }
        let newer = try newerReplica(0xA1), relay = try olderReplica(at: file.path, 0xB1), third = try newerReplica(0xC1)
        let entry = try writeOnNewer(newer)
        try sync(newer, into: relay)
        // The older node merged what it declares and refused nothing.
        #expect(try relay.quarantines().isEmpty)
        #expect(try relay.reader.read { db in try String.fetchOne(db, sql: "SELECT body FROM entry WHERE id = ?", arguments: [entry]) } == "hello")
        #expect(try relay.reader.read { db in try Int.fetchOne(db, sql: "SELECT visits FROM item") } == 5)
        #expect(try unread(relay) >= 2, "the entry's and the note's commits (at least) were read only in part")
        // A newer node that hears of it only through the older one gets all of it.
        try sync(relay, into: third)
        #expect(try third.canonicalDump() == newer.canonicalDump())
        #expect(try third.reader.read { db in try String.fetchOne(db, sql: "SELECT mood FROM entry") } == "glad")
    }

    @Test func anOlderNodeMergesWhatItReadPastOnceUpgraded() throws {
        let file = TemporaryDatabase("mixed-upgrade")
        defer { file.remove() }
        let newer = try newerReplica(0xA2)
        var older: Replica? = try olderReplica(at: file.path, 0xB2)
        let entry = try writeOnNewer(newer)
        try sync(newer, into: older!)
        // Meanwhile the older node writes too, to the same table; the newer one learns of it.
        let own = try older!.write { tx in try tx.insert(into: "entry", values: ["body": "from the older node", "score": 1]) }
        try sync(older!, into: newer)
        older = nil
        let upgraded = try olderReplica(at: file.path, 0xB2, policies: Self.newer)
        #expect(try unread(upgraded) == 0)
        let (mine, theirs) = (try upgraded.canonicalDump(), try newer.canonicalDump())
        #expect(mine == theirs, "\(Set(mine.lines).symmetricDifference(Set(theirs.lines)).sorted())")
        #expect(try upgraded.reader.read { db in try String.fetchOne(db, sql: "SELECT mood FROM entry WHERE id = ?", arguments: [entry]) } == "glad")
        #expect(try upgraded.reader.read { db in try String.fetchOne(db, sql: "SELECT mood FROM entry WHERE id = ?", arguments: [own]) } == nil)
        #expect(try upgraded.reader.read { db in try Int.fetchOne(db, sql: "SELECT rank FROM note") } == 2)
        // Opening again merges nothing twice.
        let dump = try upgraded.canonicalDump()
        let lost = try upgraded.reader.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM _sf_lost_write") }
        #expect(lost == 0)
        _ = dump
    }

    @Test func aChangeWaitingForItsRowKeepsTheColumnsAnOlderNodeReadPast() throws {
        // C changes A's row (a new column among others); the older node gets C's commit before A's
        // insert, keeps the change aside, is upgraded, and only then gets the insert.
        let file = TemporaryDatabase("mixed-orphan")
        defer { file.remove() }
        let creator = try newerReplica(0xA5), editor = try newerReplica(0xC5)
        let item = try creator.write { tx in try tx.insert(into: "item", values: ["name": "bed 3", "visits": 1]) }
        try sync(creator, into: editor)
        _ = try editor.write { tx in try tx.update("item", id: item, set: ["visits": 4, "remark": "moved to the window"]) }
        var older: Replica? = try olderReplica(at: file.path, 0xB5)
        let (editorsOnly, _) = try editor.changes(since: VersionVector([NodeID(0xA5): 1]))
        try older!.apply(ChangeBatch(decoding: editorsOnly.encoded()))
        older = nil
        let upgraded = try olderReplica(at: file.path, 0xB5, policies: Self.newer)
        try sync(creator, into: upgraded)
        #expect(try upgraded.reader.read { db in try String.fetchOne(db, sql: "SELECT remark FROM item") } == "moved to the window")
        #expect(try upgraded.canonicalDump() == editor.canonicalDump())
    }

    @Test func twoInsertsOfOneAppendOnlyRowKeepTheEarliestOnEveryRelease() throws {
        // The same append-only row made on a newer node (earlier, with the new column) and on an
        // older one (later): every node keeps the earlier, whatever release it ran when they arrived.
        let file = TemporaryDatabase("mixed-append-only")
        defer { file.remove() }
        let early = TestClock(1_780_000_000_000), late = TestClock(1_780_000_005_000)
        let newer = try Replica.inMemory(configuration: ReplicaConfiguration(nodeID: NodeID(0xA6), policies: Self.newer, wallClock: early))
        let olderWriter = try Replica.inMemory(configuration: ReplicaConfiguration(nodeID: NodeID(0xB6), policies: testPolicies, wallClock: late))
        _ = try newer.write { tx in try tx.insert(into: "entry", values: ["body": "first", "score": 1, "mood": "calm"], id: "E1") }
        _ = try olderWriter.write { tx in try tx.insert(into: "entry", values: ["body": "second", "score": 2], id: "E1") }
        let observer = try newerReplica(0xD6)
        var older: Replica? = try olderReplica(at: file.path, 0xE6)
        for source in [olderWriter, newer] {
            try sync(source, into: observer)
            try sync(source, into: older!)
        }
        older = nil
        let upgraded = try olderReplica(at: file.path, 0xE6, policies: Self.newer)
        #expect(try observer.reader.read { db in try String.fetchOne(db, sql: "SELECT body FROM entry") } == "first")
        #expect(try upgraded.reader.read { db in try String.fetchOne(db, sql: "SELECT mood FROM entry") } == "calm")
        #expect(try upgraded.canonicalDump() == observer.canonicalDump())
    }

    @Test func whatANewerNodeWritesIsStillCheckedWhereItIsDeclared() throws {
        // The older node cannot check a column it does not declare; the upgraded node does, and
        // reports the commit instead of merging it (the nodes that declared it quarantined its origin).
        let file = TemporaryDatabase("mixed-hostile")
        defer { file.remove() }
        let lax = try PolicySet(parsing: Self.newerText.replacingOccurrences(of: "column text text not null", with: "column text text"))
        let hostile = try Replica.inMemory(configuration: ReplicaConfiguration(nodeID: NodeID(0xA3), policies: lax))
        _ = try hostile.write { tx in try tx.insert(into: "note", values: ["rank": 1]) }
        var older: Replica? = try olderReplica(at: file.path, 0xB3)
        try sync(hostile, into: older!)
        #expect(try unread(older!) == 1)
        older = nil
        let upgraded = try olderReplica(at: file.path, 0xB3, policies: Self.newer)
        #expect(try upgraded.reader.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM note") } == 0)
        #expect(try upgraded.rejections().contains { $0.reason.contains("not null") })
        // …and its origin is held from that commit on, as the nodes that declared the table hold it.
        #expect(try upgraded.quarantines().map(\.origin) == [NodeID(0xA3)])
    }

    @Test func aWardsChangeToAnotherWardsRowInANewColumnIsJudgedWhenTheColumnIsDeclared() throws {
        // Node 3 is a ward node of W-1; its own (lying) view lets it write W-9's row, in a column only
        // the newer release declares. An older node cannot judge that column; upgraded, it must.
        let older = WardOwnershipTests.policies
        let newer = try PolicySet(parsing: older.canonicalText.replacingOccurrences(of: "column note text", with: "column note text\ncolumn extra text"))
        func trust(_ node: UInt64, lying: Bool = false) -> SharedSecretTrust {
            SharedSecretTrust(nodeID: NodeID(node), roles: [NodeID(3): .ward], wards: [NodeID(3): lying ? ["W-9"] : ["W-1"]])
        }
        func open(_ node: UInt64, _ policies: PolicySet, at path: String? = nil, lying: Bool = false) throws -> Replica {
            var configuration = ReplicaConfiguration(nodeID: NodeID(node), policies: policies, rowIDSeed: node)
            configuration.authority = trust(node, lying: lying)
            return try path.map { try Replica.open(at: $0, configuration: configuration) } ?? Replica.inMemory(configuration: configuration)
        }
        let file = TemporaryDatabase("mixed-owner")
        defer { file.remove() }
        let central = try open(1, newer), hostile = try open(3, newer, lying: true)
        try central.write { try $0.insert(into: "stay", values: ["wardId": "W-9", "note": "elsewhere"], id: "OTHER") }
        try sync(central, into: hostile)
        try hostile.write { try $0.update("stay", id: "OTHER", set: ["extra": "written by another ward"]) }
        var olderNode: Replica? = try open(4, older, at: file.path)
        try sync(central, into: olderNode!)
        try sync(hostile, into: olderNode!)
        #expect(try unread(olderNode!) >= 1)
        olderNode = nil
        let upgraded = try open(4, newer, at: file.path)
        #expect(try upgraded.reader.read { db in try String.fetchOne(db, sql: "SELECT extra FROM stay") } == nil)
        #expect(try upgraded.quarantines().map(\.origin) == [NodeID(3)])
    }

    @Test func bytesPastTheDeclaredOnesAreStillBounded() throws {
        // A change to an unknown table must still be well-formed: the older node reads every byte.
        let older = try makeReplica(0xB4)
        let identity = older.identity
        var writer = BinaryWriter()
        writer.writeVarint(1)
        writer.writeString("ghost")
        writer.writeString("row-1")
        writer.writeByte(0)
        writer.writeVarint(1)
        writer.writeVarint(0)
        writer.writeByte(9)  // no such column kind
        #expect(older.brokenRule(inCommit: writer.bytes, by: identity)?.contains("unknown column metadata kind") == true)
        var huge = BinaryWriter()
        huge.writeVarint(1)
        huge.writeString("entry")
        huge.writeString("row-1")
        huge.writeByte(0)
        huge.writeVarint(1)
        huge.writeVarint(UInt64(CommitCodec.maximumColumns))
        #expect(older.brokenRule(inCommit: huge.bytes, by: identity) != nil)
    }
}
