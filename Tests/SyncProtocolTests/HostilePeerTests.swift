import Foundation
import GRDB
import Logging
import Replica
import Sodium
import Synchronization
import TestSupport
import Testing

@testable import SyncProtocol

/// Tables with declared writers: `account` is central's alone.
let hostileTestPolicies: PolicySet = try! PolicySet(
    parsing: """
        table account
          key id
          write central
          no-delete
          column role text not null
        table surveyResponse append-only
          key id
          write central ward callcenter
          no-delete
          column patientId text not null
          column answers text
        table stay
          key id
          write central ward
          no-delete
          owned-by wardId
          column wardId text
          column note text
        """)

/// The hostile-peer kit: a peer that completes a real handshake with an enrolled identity (as a
/// stolen ward gateway can), then sends hand-made session messages to a victim running a live session.
struct HostilePeer {
    let cluster: TestCluster
    let identity: NodeIdentity

    /// What the victim did: how its session ended, and the messages it sent back.
    struct Outcome {
        var victim: Result<SyncReport, any Error>
        var replies: [SyncMessage]
    }

    func attack(
        _ victim: Replica, victimIdentity: NodeIdentity, sending messages: [SyncMessage], options: SyncOptions = SyncOptions(mode: .live)
    ) async throws -> Outcome {
        let (a, b) = MemoryFrameTransport.pair()
        let logger = Logger(label: "victim", factory: { _ in SwiftLogNoOpLogHandler() })
        let victimAdmission = cluster.admission(victimIdentity, policies: hostileTestPolicies)
        let victimTask = Task {
            var receiver = b.receiver
            let channel = try await Handshake.perform(as: .server, admission: victimAdmission, sender: b.sender, receiver: &receiver)
            defer { Task { await b.sender.close() } }
            return try await SyncSession(replica: victim, channel: channel, options: options, logger: logger).run(receiving: channel)
        }
        var receiver = a.receiver
        let channel = try await Handshake.perform(
            as: .client, admission: cluster.admission(identity, policies: hostileTestPolicies),
            sender: a.sender, receiver: &receiver)
        var replies: [SyncMessage] = []
        var incoming = channel.receiver
        for message in messages {
            try? await channel.sender.send(message)
        }
        // Read until the victim acknowledged every batch or ended the session.
        let batches = messages.filter { if case .batch = $0 { return true } else { return false } }.count
        var acks = 0
        while acks < batches, let reply = try? await incoming.next() {
            replies.append(reply)
            if case .ack = reply { acks += 1 }
            if case .refusal = reply { break }
        }
        try? await channel.sender.send(.goodbye)
        await a.sender.close()
        let result = await victimTask.result
        return Outcome(victim: result, replies: replies)
    }

    static func batch(_ batch: ChangeBatch, id: UInt64 = 1) throws -> SyncMessage {
        .batch(id: id, compressed: try BatchCompression.compress(batch.encoded()))
    }
}

@Suite("Hostile peers: a real handshake, then hand-made frames")
struct HostilePeerTests {
    let cluster = TestCluster()
    let centralIdentity: NodeIdentity
    let wardIdentity: NodeIdentity
    let central: Replica

    init() throws {
        centralIdentity = try cluster.identity(1, "central", role: .central)
        wardIdentity = try cluster.identity(2, "ward-5a", role: .ward, wards: ["W-5A"])
        central = try makeSyncReplica(centralIdentity, policies: hostileTestPolicies)
    }

    var ward: HostilePeer { HostilePeer(cluster: cluster, identity: wardIdentity) }

    func response(_ key: String) -> [(table: String, key: String, values: [DatabaseValue])] {
        [("surveyResponse", key, ["P1".databaseValue, "{}".databaseValue])]
    }

    /// After any attack, an honest ward still syncs with the victim.
    func honestWardStillSyncs() async throws {
        let honestIdentity = try cluster.identity(4, "ward-honest", role: .ward)
        let honest = try makeSyncReplica(honestIdentity, policies: hostileTestPolicies)
        try await honest.write { try $0.insert(into: "surveyResponse", values: ["patientId": "P9", "answers": "{}"]) }
        _ = try await syncOverMemory(
            client: (honest, cluster.admission(honestIdentity, policies: hostileTestPolicies)),
            server: (central, cluster.admission(centralIdentity, policies: hostileTestPolicies)))
        #expect(try central.versionVector()[NodeID(4)] == 1)
    }

    @Test func aWardMintingAnAdministratorIsQuarantinedAndTheVictimKeepsServing() async throws {
        var chain = ChainWriter(authority: CertificateTrust(identity: wardIdentity), policies: hostileTestPolicies)
        try chain.commit(inserting: [("account", "evil", ["admin".databaseValue])], at: HLC(milliseconds: testNow, counter: 0))
        let outcome = try await ward.attack(
            central, victimIdentity: centralIdentity,
            sending: [.summary(VersionVector()), try HostilePeer.batch(ChangeBatch(segments: [chain.segment()]))])
        #expect(outcome.replies.contains { if case .ack = $0 { return true } else { return false } })
        #expect(try central.statistics().rows["account"] == 0)
        #expect(try central.quarantines().map(\.origin) == [NodeID(2)])
        try await honestWardStillSyncs()
    }

    @Test func aWardRewritingAnotherWardsAdmissionIsQuarantinedAndTheVictimKeepsServing() async throws {
        // Central's admission for ward 6B; the stolen 5A gateway rewrites it, naming the write it "saw".
        try await central.write { try $0.insert(into: "stay", values: ["wardId": "W-6B", "note": "admitted"], id: "ADM-1") }
        var chain = ChainWriter(authority: CertificateTrust(identity: wardIdentity), policies: hostileTestPolicies)
        try chain.commit(
            updating: [("stay", "ADM-1", ["note": "discharged against advice".databaseValue], (NodeID(1), 1))],
            at: HLC(milliseconds: testNow, counter: 0))
        let outcome = try await ward.attack(
            central, victimIdentity: centralIdentity,
            sending: [.summary(VersionVector()), try HostilePeer.batch(ChangeBatch(segments: [chain.segment()]))])
        #expect(outcome.replies.contains { if case .ack = $0 { return true } else { return false } })
        let note = try await central.reader.read { try String.fetchOne($0, sql: "SELECT note FROM stay WHERE id = 'ADM-1'") }
        #expect(note == "admitted")
        #expect(try central.quarantines().map(\.rule) == ["a ward node may change rows of table 'stay' only for the wards its certificate names"])
        try await honestWardStillSyncs()
    }

    /// The stolen gateway gives one history to central and another to a second ward: their
    /// vectors agree, so nothing would ever flow; one ordinary sync between them finds it out.
    @Test func twoNodesGivenDifferentHistoriesFindTheForgerOutInOneSync() async throws {
        let otherIdentity = try cluster.identity(6, "ward-7c", role: .ward)
        let other = try makeSyncReplica(otherIdentity, policies: hostileTestPolicies)
        var toCentral = ChainWriter(authority: CertificateTrust(identity: wardIdentity), policies: hostileTestPolicies)
        var toOther = ChainWriter(authority: CertificateTrust(identity: wardIdentity), policies: hostileTestPolicies)
        try toCentral.commit(inserting: response("R-ONE"), at: HLC(milliseconds: testNow, counter: 0))
        try toOther.commit(inserting: response("R-TWO"), at: HLC(milliseconds: testNow, counter: 0))
        try await central.apply(ChangeBatch(segments: [toCentral.segment()]))
        try await other.apply(ChangeBatch(segments: [toOther.segment()]))
        _ = try await syncOverMemory(
            client: (other, cluster.admission(otherIdentity, policies: hostileTestPolicies)),
            server: (central, cluster.admission(centralIdentity, policies: hostileTestPolicies)))
        for node in [central, other] {
            #expect(try node.quarantines().map(\.origin) == [NodeID(2)])
        }
    }

    @Test func commitsSignedByAnotherKeyEndTheSessionAndApplyNothing() async throws {
        // The ward's id, the ward's certificate, but a key it does not hold.
        let forger = ForgingTrust(identity: wardIdentity)
        var chain = ChainWriter(authority: forger, policies: hostileTestPolicies)
        try chain.commit(inserting: response("R1"), at: HLC(milliseconds: testNow, counter: 0))
        let outcome = try await ward.attack(
            central, victimIdentity: centralIdentity,
            sending: [.summary(VersionVector()), try HostilePeer.batch(ChangeBatch(segments: [chain.segment()]))])
        #expect(throws: SyncError.self) { try outcome.victim.get() }
        #expect(try central.statistics().rows["surveyResponse"] == 0)
        #expect(try central.versionVector() == VersionVector())
        try await honestWardStillSyncs()
    }

    /// A catch-up's batch is applied while the next is read and decoded (here every batch): one
    /// refused ends the session before the next is applied, and the peer hears why.
    @Test(arguments: [1, 1_000])
    func aBatchRefusedWhileTheNextIsReadEndsTheSessionBeforeTheNextIsApplied(pipelinedChanges: Int) async throws {
        var options = SyncOptions(mode: .live)
        options.pipelinedChanges = pipelinedChanges
        var forged = ChainWriter(authority: ForgingTrust(identity: wardIdentity), policies: hostileTestPolicies)
        try forged.commit(inserting: response("R1"), at: HLC(milliseconds: testNow, counter: 0))
        let otherWard = try cluster.identity(6, "ward-7c", role: .ward)
        var honest = ChainWriter(authority: CertificateTrust(identity: otherWard), policies: hostileTestPolicies)
        try honest.commit(inserting: response("R2"), at: HLC(milliseconds: testNow, counter: 0))
        let outcome = try await ward.attack(
            central, victimIdentity: centralIdentity,
            sending: [
                .summary(VersionVector()),
                try HostilePeer.batch(ChangeBatch(segments: [forged.segment()]), id: 1),
                try HostilePeer.batch(ChangeBatch(segments: [honest.segment()]), id: 2),
            ], options: options)
        let error = #expect(throws: SyncError.self) { try outcome.victim.get() }
        #expect(error?.code == .protocolViolation)
        #expect(outcome.replies.contains { if case .refusal(.protocolViolation, _) = $0 { true } else { false } })
        #expect(!outcome.replies.contains { if case .ack = $0 { true } else { false } })
        #expect(try central.statistics().rows["surveyResponse"] == 0)
        #expect(try central.versionVector() == VersionVector())
        try await honestWardStillSyncs()
    }

    @Test func aWardCannotSpeakForAnotherWard() async throws {
        // Another ward's offline week: the attacker claims that ward's commits with its own signature.
        let otherWard = try cluster.identity(5, "ward-6b", role: .ward)
        var chain = ChainWriter(authority: ForgingTrust(identity: otherWard, signingAs: wardIdentity), policies: hostileTestPolicies)
        try chain.commit(inserting: response("R2"), at: HLC(milliseconds: testNow, counter: 0))
        var segment = chain.segment()
        segment.firstSeq = 1_000_000
        let outcome = try await ward.attack(
            central, victimIdentity: centralIdentity,
            sending: [.summary(VersionVector()), try HostilePeer.batch(ChangeBatch(segments: [segment]))])
        _ = outcome
        #expect(try central.versionVector()[NodeID(5)] == 0)
        // The real ward's commits still arrive.
        let real = try makeSyncReplica(otherWard, policies: hostileTestPolicies)
        try await real.write { try $0.insert(into: "surveyResponse", values: ["patientId": "P6", "answers": "{}"]) }
        _ = try await syncOverMemory(
            client: (real, cluster.admission(otherWard, policies: hostileTestPolicies)),
            server: (central, cluster.admission(centralIdentity, policies: hostileTestPolicies)))
        #expect(try central.versionVector()[NodeID(5)] == 1)
    }

    @Test(arguments: [UInt64(1) << 63, UInt64.max])
    func aSummaryWithNumbersBeyondTheStoredRangeIsAProtocolViolation(seq: UInt64) async throws {
        let outcome = try await ward.attack(
            central, victimIdentity: centralIdentity,
            sending: [.summary(VersionVector([NodeID(1): seq, NodeID(7): seq]))])
        let error = #expect(throws: SyncError.self) { try outcome.victim.get() }
        #expect(error?.code == .protocolViolation)
        try await central.write { try $0.insert(into: "surveyResponse", values: ["patientId": "P1", "answers": "{}"]) }
        try await honestWardStillSyncs()
    }
}

@Suite("Idle sessions")
struct IdleSessionTests {
    @Test func aPeerThatFallsSilentAfterTheHandshakeIsTimedOut() async throws {
        let cluster = TestCluster()
        let centralIdentity = try cluster.identity(1, "central", role: .central), wardIdentity = try cluster.identity(2, "ward-5a")
        let central = try makeSyncReplica(centralIdentity)
        let (a, b) = MemoryFrameTransport.pair()
        let options = SyncOptions(mode: .live, heartbeatInterval: .milliseconds(50), idleTimeout: .milliseconds(300))
        let victim = Task {
            var receiver = b.receiver
            let channel = try await Handshake.perform(as: .server, admission: cluster.admission(centralIdentity), sender: b.sender, receiver: &receiver)
            return try await SyncSession(
                replica: central, channel: channel, options: options,
                logger: Logger(label: "victim", factory: { _ in SwiftLogNoOpLogHandler() })
            ).run(receiving: channel)
        }
        var receiver = a.receiver
        let channel = try await Handshake.perform(as: .client, admission: cluster.admission(wardIdentity), sender: a.sender, receiver: &receiver)
        try await channel.sender.send(.summary(VersionVector()))
        // …and nothing more, not even heartbeats: a half-open connection.
        let started = ContinuousClock.now
        let error = await #expect(throws: SyncError.self) { try await victim.value }
        #expect(error?.code == .timedOut)
        #expect(ContinuousClock.now - started < .seconds(60))
        await a.sender.close()
    }

    @Test func heartbeatsKeepAQuietLiveSessionOpenAndItsPeerAdmittedIsRechecked() async throws {
        let cluster = TestCluster()
        let centralIdentity = try cluster.identity(1, "central", role: .central), wardIdentity = try cluster.identity(2, "ward-5a")
        let central = try makeSyncReplica(centralIdentity), ward = try makeSyncReplica(wardIdentity)
        let (a, b) = MemoryFrameTransport.pair()
        // The idle bound leaves room for the stalls of a loaded 2-core CI machine.
        let options = SyncOptions(mode: .live, heartbeatInterval: .milliseconds(50), idleTimeout: .seconds(4))
        let admitted = Mutex(true)
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let centralSide = Task {
            var receiver = b.receiver
            let channel = try await Handshake.perform(as: .server, admission: cluster.admission(centralIdentity), sender: b.sender, receiver: &receiver)
            return try await SyncSession(replica: central, channel: channel, options: options, logger: logger)
                .run(receiving: channel, stillAdmitted: { admitted.withLock { $0 } })
        }
        let wardSide = Task {
            var receiver = a.receiver
            let channel = try await Handshake.perform(as: .client, admission: cluster.admission(wardIdentity), sender: a.sender, receiver: &receiver)
            return try await SyncSession(replica: ward, channel: channel, options: options, logger: logger).run(receiving: channel)
        }
        // Quiet for longer than the idle timeout: heartbeats keep both sides in.
        try await Task.sleep(for: .seconds(5))
        // The peer's admission ends (its certificate expired, or it was revoked): the next heartbeat tick ends the session.
        admitted.withLock { $0 = false }
        let error = await #expect(throws: SyncError.self) { try await centralSide.value }
        #expect(error?.code == .revoked)
        _ = await wardSide.result
    }
}

/// Signs with a key the certificate does not name: what a node without the origin's key can do.
struct ForgingTrust: CommitAuthority {
    let claimed: NodeIdentity
    let key: SigningKey

    init(identity: NodeIdentity, signingAs other: NodeIdentity? = nil) {
        claimed = identity
        key = other?.key ?? SigningKey()
    }

    var identity: OriginIdentity { OriginIdentity(nodeID: claimed.nodeID, role: claimed.certificate.role, publicKey: claimed.certificate.publicKey) }
    var credential: [UInt8] { claimed.certificate.encoded }
    func sign(_ statement: [UInt8]) -> [UInt8] { key.sign(statement) }
    func identify(origin: NodeID, credential: [UInt8]) throws(TrustError) -> OriginIdentity { identity }
}
