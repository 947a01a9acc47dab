import Foundation
import GRDB
import TestSupport
import Testing

@testable import Replica

/// Tables with declared writers, for attacks by a node of the wrong role.
let trustPolicyText = """
    table account
      key id
      write central
      no-delete
      column role text not null
      column passwordHash text not null

    table visit
      key id
      write central ward
      no-delete
      column status text not null lifecycle open closed
      column score real
      column note text

    table scratch
      key id
      column note text

    table revoked append-only
      key id
      write central
      no-delete
      column reason text
      column acceptedUpTo integer
    """

let trustPolicies: PolicySet = try! PolicySet(parsing: trustPolicyText, file: "trust.policy")

/// Central is node 1, the ward node 2, the call center node 3.
let trustRoles: [NodeID: NodeRole] = [NodeID(2): .ward, NodeID(3): .callcenter]

func trust(_ node: UInt64) -> SharedSecretTrust {
    SharedSecretTrust(nodeID: NodeID(node), roles: trustRoles)
}

func makeTrustReplica(_ node: UInt64, clock: TestClock = TestClock()) throws -> Replica {
    var configuration = ReplicaConfiguration(nodeID: NodeID(node), policies: trustPolicies, wallClock: clock, rowIDSeed: node)
    configuration.authority = trust(node)
    configuration.revocationTable = "revoked"
    return try Replica.inMemory(configuration: configuration)
}

/// A node that signs whatever it likes with its own key (a stolen ward gateway running modified code).
struct RogueNode {
    var chain: ChainWriter
    let clock: UInt64 = 1_780_000_000_000

    init(_ node: UInt64, authority: (any CommitAuthority)? = nil, after seq: UInt64 = 0, hash: [UInt8] = CommitChain.genesis) {
        chain = ChainWriter(authority: authority ?? trust(node), policies: trustPolicies, after: seq, hash: hash)
    }

    mutating func insert(_ table: String, _ key: String, _ values: [DatabaseValue]) throws -> ChangeBatch {
        try chain.commit(inserting: [(table, key, values)], at: HLC(milliseconds: clock + chain.seq, counter: 0))
        return ChangeBatch(segments: [chain.segment()])
    }

    /// A commit with a hand-made body (a row change a replica would never write).
    mutating func raw(_ table: String, _ key: String, columns: [(Int, DatabaseValue)], hlc: HLC? = nil) -> ChangeBatch {
        var writer = BinaryWriter()
        writer.writeVarint(1)
        writer.writeString(table)
        writer.writeString(key)
        writer.writeByte(2)  // an insert
        writer.writeVarint(UInt64(columns.count))
        for (index, value) in columns {
            writer.writeVarint(UInt64(index))
            writer.writeByte(0)
            writer.writeFixed64((hlc ?? HLC(milliseconds: clock + chain.seq, counter: 0)).rawValue)
            writer.writeValue(value)
        }
        chain.append(body: writer.bytes)
        return ChangeBatch(segments: [chain.segment()])
    }

    mutating func delete(_ table: String, _ key: String) -> ChangeBatch {
        chain.commit(deleting: key, from: table, at: HLC(milliseconds: clock + chain.seq, counter: 0))
        return ChangeBatch(segments: [chain.segment()])
    }
}

@Suite("Hostile commits: forged, altered, unauthorised or malformed commits are refused")
struct HostileCommitTests {
    let central: Replica

    init() throws {
        central = try makeTrustReplica(1)
    }

    func count(_ replica: Replica, _ table: String) throws -> Int {
        try replica.statistics().rows[table] ?? 0
    }

    @Test func aCommitSignedWithAnotherKeyIsRefusedAsForged() throws {
        // Node 2's id, but a key from another secret: a node speaking for another.
        var impostor = RogueNode(2, authority: SharedSecretTrust(secret: Array("not the cluster".utf8), nodeID: NodeID(2)))
        let batch = try impostor.insert("visit", "V1", ["open".databaseValue, .null, .null])
        let error = #expect(throws: ReplicaError.self) { try central.apply(batch) }
        #expect(error?.code == .forgedCommit)
        #expect(try count(central, "visit") == 0)
        #expect(try central.versionVector() == VersionVector())
    }

    @Test func aTamperedSignatureOrBodyIsRefused() throws {
        var ward = RogueNode(2)
        let batch = try ward.insert("visit", "V1", ["open".databaseValue, 5.databaseValue, "note".databaseValue])
        var badSignature = batch
        badSignature.segments[0].signature[10] ^= 1
        #expect(throws: ReplicaError.self) { try central.apply(badSignature) }
        var badBody = batch
        badBody.segments[0].bodies[0][badBody.segments[0].bodies[0].count - 2] ^= 1
        #expect(throws: ReplicaError.self) { try central.apply(badBody) }
        var renumbered = batch
        renumbered.segments[0].firstSeq = 1
        renumbered.segments[0].origin = NodeID(3)
        #expect(throws: ReplicaError.self) { try central.apply(renumbered) }
        #expect(try count(central, "visit") == 0)
        try central.apply(batch)
        #expect(try count(central, "visit") == 1)
    }

    @Test func aForgedJumpInAnotherNodesSequenceIsIgnoredAndItsRealCommitsStillArrive() throws {
        // A relay claims the ward's commit 1,000,000 exists; it cannot sign for the ward, and a run
        // that does not continue what the receiver holds is not applied.
        var ward = RogueNode(2)
        let real = try ward.insert("visit", "V1", ["open".databaseValue, .null, .null])
        var jump = real
        jump.segments[0].firstSeq = 1_000_000
        try central.apply(jump)
        #expect(try central.versionVector()[NodeID(2)] == 0)
        try central.apply(real)
        #expect(try central.versionVector()[NodeID(2)] == 1)
        #expect(try count(central, "visit") == 1)
    }

    @Test func commitsClaimingTheReceiversOwnOriginAreIgnoredAndLocalWritesGoOn() throws {
        var me = RogueNode(1)
        let claim = try me.insert("visit", "V9", ["open".databaseValue, .null, .null])
        try central.apply(claim)
        #expect(try count(central, "visit") == 0)
        try central.write { try $0.insert(into: "visit", values: ["status": "open"]) }
        #expect(try central.versionVector()[NodeID(1)] == 1)
    }

    @Test func replayingHeldCommitsChangesNothing() throws {
        var ward = RogueNode(2)
        let first = try ward.insert("visit", "V1", ["open".databaseValue, .null, .null])
        try central.apply(first)
        let before = try central.canonicalDump()
        try central.apply(first)
        try central.apply(ChangeBatch(decoding: first.encoded()))
        #expect(try central.canonicalDump() == before)
        // A different history for the same numbers, signed by the origin itself: the origin
        // equivocates. That is its fault, not the relay's: it is quarantined and the batch goes on.
        var fork = RogueNode(2)
        _ = try fork.insert("visit", "V2", ["open".databaseValue, .null, .null])
        let forked = try fork.insert("visit", "V3", ["open".databaseValue, .null, .null])
        let report = try central.apply(forked)
        #expect(report.quarantined.first?.rule.contains("two different histories") == true)
        #expect(try count(central, "visit") == 1)
    }

    @Test func aWardWritingAnAccountIsQuarantinedAndNothingOfItIsApplied() throws {
        var ward = RogueNode(2)
        let report = try central.apply(try ward.insert("account", "evil", ["admin".databaseValue, "hash".databaseValue]))
        #expect(try count(central, "account") == 0)
        #expect(report.quarantined.map(\.origin) == [NodeID(2)])
        let quarantine = try #require(try central.quarantines().first)
        #expect(quarantine.table == "account" && quarantine.rule.contains("ward") && quarantine.seq == 1)
        #expect(try central.rejections().contains { $0.origin == NodeID(2) && $0.table == "account" })
        // Its later commits are held, even good ones; other nodes keep syncing.
        let later = try ward.insert("visit", "V1", ["open".databaseValue, .null, .null])
        let held = try central.apply(later)
        #expect(held.held == 1)
        #expect(try count(central, "visit") == 0)
        let source = try makeTrustReplica(1)
        try source.write { try $0.insert(into: "account", values: ["role": "agent", "passwordHash": "h"], id: "agent1") }
        let honest = try makeTrustReplica(3)
        try sync(source, into: honest)
        #expect(try count(honest, "account") == 1)
        // A person lifts the quarantine; the origin's commits are checked again when sent again.
        try central.liftQuarantine(of: NodeID(2))
        #expect(try central.quarantines().isEmpty)
    }

    @Test func localWritesOutsideTheRoleAreRefusedWithAClearError() throws {
        let ward = try makeTrustReplica(2)
        let error = #expect(throws: ReplicaError.self) {
            try ward.write { try $0.insert(into: "account", values: ["role": "admin", "passwordHash": "x"], id: "evil") }
        }
        #expect(error?.code == .notAuthorized)
        #expect(error?.message.contains("central") == true)
        #expect(throws: ReplicaError.self) { try ward.write { try $0.insert(into: "revoked", values: ["reason": "x"], id: "0000000000000003") } }
        let visit = try ward.write { try $0.insert(into: "visit", values: ["status": "open"]) }
        let noDelete = #expect(throws: ReplicaError.self) { try ward.write { try $0.delete(from: "visit", id: visit) } }
        #expect(noDelete?.code == .notAuthorized)
    }

    @Test func aDeleteOfANoDeleteRowQuarantinesItsOrigin() throws {
        let wardReplica = try makeTrustReplica(2)
        try wardReplica.write { try $0.insert(into: "visit", values: ["status": "open"], id: "V1") }
        try sync(wardReplica, into: central)
        var ward = RogueNode(2, after: 1, hash: try wardReplica.reader.read { try wardReplica.chainHash($0, origin: NodeID(2), seq: 1) })
        let report = try central.apply(ward.delete("visit", "V1"))
        #expect(report.quarantined.first?.rule.contains("never deleted") == true)
        #expect(try count(central, "visit") == 1)
    }

    /// Values no declared column of `visit` takes: (attack, status, score, note).
    static let refusedValues: [(String, DatabaseValue, DatabaseValue, DatabaseValue)] = [
        ("a NULL where the column is not null", .null, .null, .null),
        ("text where a real belongs", "open".databaseValue, "lots".databaseValue, .null),
        ("a state the lifecycle does not know", "exploded".databaseValue, .null, .null),
        ("a non-finite number", "open".databaseValue, Double.nan.databaseValue, .null),
        ("a value over the size bound", "open".databaseValue, .null, String(repeating: "x", count: (1 << 20) + 1).databaseValue),
    ]

    @Test(arguments: 0..<5)
    func aValueTheColumnRefusesQuarantinesItsOrigin(_ attackIndex: Int) throws {
        let (attack, status, score, note) = Self.refusedValues[attackIndex]
        let columns = [(0, status), (1, score), (2, note)]
        var ward = RogueNode(2)
        let report = try central.apply(ward.raw("visit", "V1", columns: columns))
        #expect(report.quarantined.count == 1, "\(attack)")
        #expect(try count(central, "visit") == 0)
        let rule = try #require(report.quarantined.first).rule
        #expect(!rule.contains("lots") && !rule.contains("exploded"), "rules never carry values")
    }

    @Test func aCommitStampedBeyondTheClockBoundIsHeldNotMerged() throws {
        var ward = RogueNode(2)
        let report = try central.apply(
            ward.raw(
                "visit", "V1", columns: [(0, "open".databaseValue), (1, .null), (2, .null)],
                hlc: HLC(rawValue: .max)))
        // Held, not quarantined: the receiver's own clock may be the wrong one.
        #expect(report.held == 1 && report.quarantined.isEmpty)
        #expect(try count(central, "visit") == 0)
        #expect(try central.versionVector()[NodeID(2)] == 0)
        // The local clock is untouched: local writes go on.
        try central.write { try $0.insert(into: "visit", values: ["status": "open"]) }
    }

    @Test func emptyCommitsAndTwoRunsOfOneOriginAreRefusedAtDecoding() throws {
        var ward = RogueNode(2)
        ward.chain.append(body: [0])
        let empty = ChangeBatch(segments: [ward.chain.segment()])
        #expect(throws: MalformedDataError.self) { try ChangeBatch(decoding: empty.encoded()) }
        var other = RogueNode(3)
        let first = try other.insert("visit", "V1", ["open".databaseValue, .null, .null])
        let second = try other.insert("visit", "V2", ["open".databaseValue, .null, .null])
        #expect(throws: MalformedDataError.self) { try ChangeBatch(decoding: ChangeBatch(segments: first.segments + second.segments).encoded()) }
    }

    @Test func keepBothWritesWithSeveralValuesOrAFutureContextQuarantine() throws {
        let policies = try PolicySet(parsing: "table card\n  key id\n  column phone text keep-both\n")
        var configuration = ReplicaConfiguration(nodeID: NodeID(1), policies: policies)
        configuration.authority = trust(1)
        let receiver = try Replica.inMemory(configuration: configuration)
        func commit(_ node: UInt64, siblings: [(UInt64, String)], context: [(UInt64, UInt64)]) -> ChangeBatch {
            var chain = ChainWriter(authority: trust(node), policies: policies)
            var writer = BinaryWriter()
            writer.writeVarint(1); writer.writeString("card"); writer.writeString("C1"); writer.writeByte(2)
            writer.writeVarint(1); writer.writeVarint(0); writer.writeByte(1)
            writer.writeVarint(UInt64(siblings.count))
            for (hlc, value) in siblings { writer.writeFixed64(hlc); writer.writeValue(value.databaseValue) }
            writer.writeVarint(UInt64(context.count))
            for (origin, hlc) in context { writer.writeFixed64(origin); writer.writeFixed64(hlc) }
            chain.append(body: writer.bytes)
            return ChangeBatch(segments: [chain.segment()])
        }
        let now = HLC(milliseconds: 1_780_000_000_000, counter: 0).rawValue
        #expect(try receiver.apply(commit(2, siblings: [(now, "a"), (now + 1, "b")], context: [])).quarantined.count == 1)
        // A context that "supersedes" another node's writes up to next year erases nothing.
        #expect(try receiver.apply(commit(3, siblings: [(now, "a")], context: [(4, now + (1 << 40))])).quarantined.count == 1)
        #expect(try receiver.apply(commit(5, siblings: [(now, "a")], context: [(4, now - 1)])).quarantined.isEmpty)
    }

    @Test func aSetThatWouldOutgrowTheValueBoundIsRefusedLocally() throws {
        let policies = try PolicySet(parsing: "table card\n  key id\n  column tags text add-wins-set\n")
        let replica = try Replica.inMemory(configuration: ReplicaConfiguration(nodeID: NodeID(1), policies: policies))
        let big = (0..<9).map { String(repeating: "\($0)", count: 120_000) }
        try replica.write { try $0.insert(into: "card", values: ["tags": SetCodec.encode(big.prefix(8))], id: "C1") }
        let error = #expect(throws: ReplicaError.self) { try replica.write { try $0.addElement(big[8], to: "tags", of: "card", id: "C1") } }
        #expect(error?.code == .invalidValue)
    }

    @Test func anUpdateThatArrivesBeforeTheInsertWaitsAsideAndIsMergedWhenItCan() throws {
        let creator = try makeTrustReplica(1), editor = try makeTrustReplica(2)
        try creator.write { try $0.insert(into: "visit", values: ["status": "open", "note": "first"], id: "V1") }
        try sync(creator, into: editor)
        try editor.write { try $0.update("visit", id: "V1", set: ["score": 4.5]) }
        // A node gets the editor's commit first (only the editor's chain, through a relay).
        let late = try makeTrustReplica(3)
        let (batch, _) = try editor.changes(since: VersionVector([NodeID(1): 1]))
        try late.apply(batch)
        #expect(try count(late, "visit") == 0, "a half-known row never reaches the domain")
        try sync(creator, into: late)
        #expect(try value(late, "visit", "V1", "score") == 4.5.databaseValue)
        #expect(try late.canonicalDump() == editor.canonicalDump())
        // A local insert of the same key adopts the changes that waited for it (merged by the column
        // policies: the insert, made after them, wins its columns).
        let local = try makeTrustReplica(4)
        try local.apply(batch)
        #expect(try local.reader.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM _sf_orphan") } == 1)
        try local.write { try $0.insert(into: "visit", values: ["status": "open", "note": "mine"], id: "V1") }
        #expect(try local.reader.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM _sf_orphan") } == 0)
    }

    @Test func anUndeclaredTableIsReadPastKeptAndMergedNowhereWithoutEchoingItsName() throws {
        // A later release's table (or a made-up one): this node cannot judge it, so it merges
        // nothing of it, keeps the commit whole for the nodes that declare the table (they judge it),
        // and never repeats the name in a report or a log.
        var ward = RogueNode(2)
        let report = try central.apply(ward.raw("张三13800138000", "k", columns: [(0, "x".databaseValue)]))
        #expect(report.quarantined.isEmpty && report.commitsApplied == 1)
        #expect(try central.reader.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM _sf_unread") } == 1)
        #expect(try central.reader.read { try $0.tableExists("张三13800138000") } == false)
        #expect(try central.rejections().allSatisfy { !$0.table.contains("13800138000") && !$0.reason.contains("13800138000") })
    }

    @Test func aRevokedNodesCommitsAreRefusedIncludingThoseRelayedLater() throws {
        let ward = try makeTrustReplica(2)
        try ward.write { try $0.insert(into: "visit", values: ["status": "open"], id: "V1") }
        let relay = try makeTrustReplica(3)
        try sync(ward, into: relay)
        try central.write { try $0.insert(into: "revoked", values: ["reason": "stolen"], id: NodeID(2).description) }
        try sync(relay, into: central)
        #expect(try count(central, "visit") == 0)
        #expect(try central.versionVector()[NodeID(2)] == 0)
        // Nor does central pass the revoked node's commits on.
        try sync(central, into: relay)
        let fresh = try makeTrustReplica(1)
        try sync(central, into: fresh)
        #expect(try count(fresh, "visit") == 0)
        // Revocation is append-only: central cannot take it back by accident, nobody else can write it.
        #expect(throws: ReplicaError.self) { try central.write { try $0.update("revoked", id: NodeID(2).description, set: ["reason": "x"]) } }
    }

    /// A revocation keeps what central held of the node (its cut-off) and refuses the rest, so every
    /// node, whichever peer it hears from, ends with the same part of the revoked node's history.
    @Test func aRevocationsCutOffIsAcceptedAndRelayedEverywhereAndNothingAfterIt() throws {
        let ward = try makeTrustReplica(2)
        for index in 0..<2 { try ward.write { try $0.insert(into: "visit", values: ["status": "open"], id: "V\(index)") } }
        try sync(ward, into: central)
        try ward.write { try $0.insert(into: "visit", values: ["status": "open"], id: "AFTER") }  // commit 3, after what central holds
        let relay = try makeTrustReplica(3)
        let (firstTwo, _) = try ward.changes(since: VersionVector(), maxChanges: 2)
        try relay.apply(ChangeBatch(decoding: firstTwo.encoded()))
        #expect(try relay.versionVector()[NodeID(2)] == 2)
        try central.write { try $0.insert(into: "revoked", values: ["reason": "stolen", "acceptedUpTo": 2], id: NodeID(2).description) }
        try sync(central, into: relay)
        // The revoked node's later commit reaches nobody, directly or through a relay.
        try sync(ward, into: relay)
        try sync(ward, into: central)
        #expect(try relay.versionVector()[NodeID(2)] == 2 && central.versionVector()[NodeID(2)] == 2)
        #expect(try value(central, "visit", "AFTER", "status") == nil)
        // A node that never met it gets the accepted part from either peer, and only that.
        for source in [central, relay] {
            let fresh = try makeTrustReplica(4)
            try sync(central, into: fresh)  // the revocation first
            try sync(source, into: fresh)
            #expect(try fresh.versionVector()[NodeID(2)] == 2)
            #expect(try count(fresh, "visit") == 2)
        }
    }

    /// The cut-off `suifang revoke` records is the newest commit central can relay: the last head
    /// the node signed that central holds, not a commit in the middle of a run it held back.
    @Test func theNewestSignedCommitIsWhereARunCanBeRelayedFrom() throws {
        var ward = RogueNode(2)
        try central.apply(try ward.insert("visit", "V1", ["open".databaseValue, .null, .null]))
        _ = try ward.chain.commit(inserting: [("visit", "V2", ["open".databaseValue, .null, .null])], at: HLC(milliseconds: ward.clock + 10, counter: 0))
        let farFuture = HLC(milliseconds: 1_780_000_000_000 + 500 * 86_400_000, counter: 0)
        let run = ward.raw("visit", "V3", columns: [(0, "open".databaseValue)], hlc: farFuture)
        #expect(try central.apply(run).commitsApplied == 1, "commit 2 applies, commit 3 is held beyond the clock bound")
        #expect(try central.versionVector()[NodeID(2)] == 2)
        #expect(try central.write { try $0.newestSignedCommit(of: NodeID(2)) } == 1)
    }

    /// A stolen gateway sends one history to one node and another to a second: their version
    /// vectors agree, so no batch ever shows it; their signed heads do, and neither can be faked.
    @Test func anOriginThatSignedTwoHistoriesIsFoundOutByComparingSignedHeads() async throws {
        let a = try makeTrustReplica(3), b = try makeTrustReplica(4)
        var one = RogueNode(2), other = RogueNode(2)
        try await a.apply(try one.insert("visit", "V-A", ["open".databaseValue, .null, .null]))
        try await b.apply(try other.insert("visit", "V-B", ["open".databaseValue, .null, .null]))
        #expect(try a.versionVector() == b.versionVector())
        // A peer that lies about a head (a signature it cannot make) frames nobody.
        var forged = try #require(try b.signedHeads().first { $0.origin == NodeID(2) })
        forged.signature[0] ^= 1
        #expect(try await a.checkSignedHeads([forged]).isEmpty)
        #expect(try a.quarantines().isEmpty)
        #expect(try await a.checkSignedHeads(try b.signedHeads()) == [NodeID(2)])
        #expect(try await b.checkSignedHeads(try a.signedHeads()) == [NodeID(2)])
        #expect(try a.quarantines().first?.rule.contains("two different histories") == true)
        // The origin's later commits are held on both.
        let later = try one.insert("visit", "V-LATER", ["open".databaseValue, .null, .null])
        #expect(try await a.apply(later).commitsApplied == 0)
        // Honest chains compare equal: nothing happens.
        let c = try makeTrustReplica(5)
        try sync(a, into: c)
        #expect(try await c.checkSignedHeads(try a.signedHeads()).isEmpty)
    }

    @Test func relaysForwardTheOriginsSignatureToNodesThatNeverMetIt() throws {
        let ward = try makeTrustReplica(2)
        for index in 0..<25 { try ward.write { try $0.insert(into: "visit", values: ["status": "open", "score": Double(index)]) } }
        try sync(ward, into: central, pageSize: 7)
        let callcenter = try makeTrustReplica(3)
        try sync(central, into: callcenter, pageSize: 5)
        #expect(try count(callcenter, "visit") == 25)
        #expect(try callcenter.versionVector()[NodeID(2)] == 25)
        // The relay cannot alter what it forwards.
        var (batch, _) = try central.changes(since: VersionVector())
        let index = try #require(batch.segments.firstIndex { $0.origin == NodeID(2) })
        batch.segments[index].bodies[0][3] ^= 0x20
        let other = try makeTrustReplica(3)
        #expect(throws: ReplicaError.self) { try other.apply(batch) }
    }
}
