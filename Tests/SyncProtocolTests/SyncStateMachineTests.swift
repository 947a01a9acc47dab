import Replica
import TestSupport
import Testing

@testable import SyncProtocol

/// The rules of the exchange, without sockets, tasks or a real clock: time is whatever the test says.
@Suite("Session state machine: the exchange's rules, driven by events")
struct SyncStateMachineTests {
    func machine(_ mode: SyncOptions.Mode = .oneShot, window: Int = 2) -> SyncStateMachine {
        let options = SyncOptions(mode: mode, window: window, heartbeatInterval: .seconds(10), idleTimeout: .seconds(45), resendInterval: .seconds(600))
        return SyncStateMachine(peer: "ward-5a", configuration: .init(options), now: .zero)
    }

    /// A batch holding commits 1…count of node 9.
    func batch(commits count: Int) -> ChangeBatch {
        var chain = ChainWriter(authority: SharedSecretTrust(nodeID: NodeID(9)), policies: try! PolicySet(tables: []))
        for _ in 0..<count { chain.append(body: [1]) }
        return ChangeBatch(segments: [chain.segment()])
    }

    func isViolation(_ error: any Error) -> Bool { (error as? SyncError)?.code == .protocolViolation }

    @Test func theSummaryStartsStreamingAndASecondOneIsAViolation() throws {
        var session = machine()
        #expect(session.reserveBatch() == nil, "nothing is sent before the peer says what it holds")
        let vector = VersionVector([NodeID(9): 4])
        #expect(try session.received(.summary(vector), at: .seconds(1)) == .startStreaming(since: vector))
        #expect(session.phase == .exchanging)
        #expect(throws: SyncError.self) { try session.received(.summary(vector), at: .seconds(2)) }
    }

    @Test func signedHeadsComeOnceAfterTheSummary() throws {
        var session = machine()
        let heads = [SignedHead(origin: NodeID(9), seq: 1, hash: Array(repeating: 0, count: 32), signature: Array(repeating: 0, count: 64))]
        #expect { try session.received(.heads(heads), at: .zero) } throws: { isViolation($0) }
        var ordered = machine()
        _ = try ordered.received(.summary(VersionVector()), at: .zero)
        #expect(try ordered.received(.heads(heads), at: .seconds(1)) == .checkHeads(heads))
        #expect { try ordered.received(.heads(heads), at: .seconds(2)) } throws: { isViolation($0) }
        // On the wire: bounded, and a head's hash and signature have their exact sizes.
        #expect(try SyncMessage(decoding: SyncMessage.heads(heads).encoded) == .heads(heads))
        var short = SyncMessage.heads(heads).encoded
        short.removeLast()
        #expect { try SyncMessage(decoding: short) } throws: { isViolation($0) }
    }

    @Test func atMostAWindowOfBatchesIsUnacknowledged() throws {
        var session = machine(window: 2)
        _ = try session.received(.summary(VersionVector()), at: .zero)
        let reserved = (session.reserveBatch(), session.reserveBatch())
        let first = try #require(reserved.0), second = try #require(reserved.1)
        #expect(session.reserveBatch() == nil)
        #expect(try session.received(.ack(id: first, VersionVector()), at: .seconds(1)) == .slotOpened(sayGoodbye: false))
        #expect(session.reserveBatch() == second + 1)
        #expect(session.unacknowledged == 2)
    }

    @Test func acknowledgementsOfBatchesNotInFlightAreViolations() throws {
        var session = machine()
        _ = try session.received(.summary(VersionVector()), at: .zero)
        #expect { try session.received(.ack(id: 1, VersionVector()), at: .zero) } throws: { isViolation($0) }
        var again = machine()
        _ = try again.received(.summary(VersionVector()), at: .zero)
        let reserved = again.reserveBatch()
        let id = try #require(reserved)
        _ = try again.received(.ack(id: id, VersionVector()), at: .zero)
        #expect { try again.received(.ack(id: id, VersionVector()), at: .zero) } throws: { isViolation($0) }
    }

    @Test func onlyAWardOnTheScopedFeedTakesFeedPagesAndItTakesNoCommits() throws {
        var full = machine()
        _ = try full.received(.summary(VersionVector()), at: .zero)
        #expect { try full.received(.feed(id: 1, compressed: [1]), at: .zero) } throws: { isViolation($0) }
        var ward = SyncStateMachine(peer: "central", configuration: .init(SyncOptions(), takesFeed: true), now: .zero)
        _ = try ward.received(.summary(VersionVector()), at: .zero)
        #expect(try ward.received(.feed(id: 1, compressed: [1]), at: .zero) == .applyFeed(id: 1, compressed: [1]))
        #expect { try ward.received(.batch(id: 2, compressed: [1]), at: .zero) } throws: { isViolation($0) }
    }

    @Test func batchIdsMustIncreaseSoAReplayedBatchIsAViolation() throws {
        var session = machine()
        _ = try session.received(.summary(VersionVector()), at: .zero)
        #expect(try session.received(.batch(id: 1, compressed: [1]), at: .zero) == .apply(id: 1, compressed: [1]))
        #expect { try session.received(.batch(id: 1, compressed: [1]), at: .zero) } throws: { isViolation($0) }
    }

    @Test func oneShotSaysGoodbyeOnceWhenBothCaughtUpAndAllIsAcknowledged() throws {
        var session = machine(.oneShot)
        _ = try session.received(.summary(VersionVector()), at: .zero)
        let reserved = session.reserveBatch()
        let id = try #require(reserved)
        session.sent(batch: batch(commits: 3), bytes: 100)
        #expect(session.caughtUp() == false, "a batch is still unacknowledged")
        #expect(try session.received(.caughtUp, at: .zero) == SyncStateMachine.Reaction.none)
        #expect(try session.received(.ack(id: id, VersionVector([NodeID(9): 3])), at: .zero) == .slotOpened(sayGoodbye: true))
        #expect(session.phase == .complete)
        #expect(session.reserveBatch() == nil)
        // A live peer may push once more (a ward's own commit echoed back in central's feed)
        // before it hears the goodbye: not applied, never acknowledged on a closing channel.
        #expect(try session.received(.batch(id: 7, compressed: [1]), at: .zero) == SyncStateMachine.Reaction.none)
        #expect(try session.received(.goodbye, at: .zero) == .finish)
        #expect(session.isClosed)
        #expect(session.report.batchesSent == 1 && session.report.rowsSent == 3)
    }

    @Test func theLastCaughtUpTriggersGoodbyeFromEitherSide() throws {
        var ours = machine(.oneShot)
        _ = try ours.received(.summary(VersionVector()), at: .zero)
        _ = try ours.received(.caughtUp, at: .zero)
        #expect(ours.caughtUp() == true)
        var theirs = machine(.oneShot)
        _ = try theirs.received(.summary(VersionVector()), at: .zero)
        #expect(theirs.caughtUp() == false)
        #expect(try theirs.received(.caughtUp, at: .zero) == .sayGoodbye)
        #expect { try theirs.received(.caughtUp, at: .zero) } throws: { isViolation($0) }
    }

    @Test func liveSessionsNeverSayGoodbye() throws {
        var session = machine(.live)
        _ = try session.received(.summary(VersionVector()), at: .zero)
        #expect(session.caughtUp() == false)
        #expect(try session.received(.caughtUp, at: .zero) == SyncStateMachine.Reaction.none)
        #expect(session.reserveBatch() != nil, "live sessions keep pushing")
    }

    @Test func aSilentPeerTimesOutOnTheInjectedClock() throws {
        var session = machine(.live)
        _ = try session.received(.summary(VersionVector()), at: .zero)
        #expect(try session.tick(at: .seconds(10)) == .init(checkAdmission: true, sendHeartbeat: true))
        _ = try session.received(.heartbeat, at: .seconds(40))
        #expect(try session.tick(at: .seconds(85)) == .init(checkAdmission: true, sendHeartbeat: true), "45 s since the last heartbeat is still within the bound")
        #expect { try session.tick(at: .seconds(86)) } throws: { ($0 as? SyncError)?.code == .timedOut }
        #expect(session.isClosed)
        #expect(try session.tick(at: .seconds(96)) == .init(checkAdmission: false, sendHeartbeat: false))
    }

    @Test func oneShotSessionsCheckAdmissionButSendNoHeartbeats() throws {
        var session = machine(.oneShot)
        #expect(try session.tick(at: .seconds(10)) == .init(checkAdmission: true, sendHeartbeat: false))
    }

    @Test func aRevokedPeerEndsTheSessionAndNothingMoreIsSent() throws {
        var session = machine(.live)
        _ = try session.received(.summary(VersionVector()), at: .zero)
        try session.admissionChecked(true)
        #expect { try session.admissionChecked(false) } throws: { ($0 as? SyncError)?.code == .revoked }
        #expect(session.reserveBatch() == nil)
        #expect(try session.received(.batch(id: 5, compressed: []), at: .zero) == SyncStateMachine.Reaction.none, "a closed session applies nothing more")
    }

    @Test func aRefusalFromThePeerEndsTheSessionWithItsCode() throws {
        var session = machine()
        #expect { try session.received(.refusal(.revoked, "you are revoked"), at: .zero) } throws: { ($0 as? SyncError)?.code == .revoked }
        #expect(session.isClosed)
    }

    @Test func whatTheyAndWeSentAdvancesWhatWeKnowTheyHold() throws {
        var session = machine(.live)
        _ = try session.received(.summary(VersionVector([NodeID(9): 0])), at: .zero)
        session.arrived(batch: batch(commits: 2), bytes: 50)
        #expect(session.sentVector[NodeID(9)] == 2, "no need to send back what the peer sent")
        #expect(session.report.rowsReceived == 2 && session.report.bytesReceived == 50)
    }

    /// Live sessions last; a run the peer held (waiting for another origin's commit) and dropped
    /// from its bounded cache would otherwise wait for the next session. Once per resend interval,
    /// what we sent is wound back to what the peer's acknowledgements say it holds.
    @Test func commitsThePeerHeldAreOfferedAgainOncePerResendInterval() throws {
        /// The peer's heartbeat, then our timer: a live peer that is quiet otherwise.
        func heardThenTick(_ session: inout SyncStateMachine, at now: Duration) throws -> SyncStateMachine.TickActions {
            _ = try session.received(.heartbeat, at: now)
            return try session.tick(at: now)
        }
        var session = machine(.live)
        _ = try session.received(.summary(VersionVector([NodeID(9): 0])), at: .zero)
        let reserved = session.reserveBatch()
        let id = try #require(reserved)
        session.sent(batch: batch(commits: 5), bytes: 100)
        #expect(session.caughtUp() == false)
        #expect(try heardThenTick(&session, at: .seconds(610)).resend == false, "not while a batch is in flight")
        _ = try session.received(.ack(id: id, VersionVector([NodeID(9): 2])), at: .seconds(611))  // it applied 2 of 5
        #expect(session.sentVector[NodeID(9)] == 5)
        #expect(try heardThenTick(&session, at: .seconds(1_000)) == .init(checkAdmission: true, sendHeartbeat: true, resend: true))
        #expect(session.sentVector[NodeID(9)] == 2, "the next stream starts where the peer stands")
        // Offered again, held again: offered once more an interval later, not before.
        let again = session.reserveBatch()
        session.sent(batch: batch(commits: 5), bytes: 100)
        _ = try session.received(.ack(id: try #require(again), VersionVector([NodeID(9): 2])), at: .seconds(1_001))
        #expect(try heardThenTick(&session, at: .seconds(1_300)).resend == false, "an interval since the last resend has not passed")
        #expect(try heardThenTick(&session, at: .seconds(1_600)).resend == true)
        // Applied at last: nothing more to offer.
        let last = session.reserveBatch()
        session.sent(batch: batch(commits: 5), bytes: 100)
        _ = try session.received(.ack(id: try #require(last), VersionVector([NodeID(9): 5])), at: .seconds(1_601))
        #expect(try heardThenTick(&session, at: .seconds(2_400)).resend == false)
        #expect(session.sentVector[NodeID(9)] == 5)
        var oneShot = machine(.oneShot)
        _ = try oneShot.received(.summary(VersionVector()), at: .zero)
        _ = oneShot.caughtUp()
        #expect(try heardThenTick(&oneShot, at: .seconds(700)).resend == false, "one-shot sessions end; the next one starts from the summary")
    }

    /// Serving a fleet of wards the feed, live: a commit a ward has no row of moves its cursor
    /// only, and that page is held (else every commit anywhere costs every ward a page, a
    /// transaction and an acknowledgement). Streams go on from what was judged; the held cursor
    /// goes out once the next tick asks for it, and once only.
    @Test func aServedWardsCursorOnlyPagesWaitForTheTick() throws {
        let options = SyncOptions(mode: .live, heartbeatInterval: .seconds(10), idleTimeout: .seconds(45))
        var session = SyncStateMachine(peer: "ward-5a", configuration: .init(options, servesFeed: true), now: .zero)
        _ = try session.received(.summary(VersionVector([NodeID(9): 3])), at: .zero)
        _ = session.caughtUp()
        session.judged(feedCursor: VersionVector([NodeID(9): 7]))
        #expect(session.streamFrom == VersionVector([NodeID(9): 7]), "the next look starts after what was judged")
        #expect(session.sentVector == VersionVector([NodeID(9): 3]), "nothing went out")
        #expect(session.cursorToSend() == nil, "not before a tick asks for it")
        _ = try session.received(.heartbeat, at: .seconds(10))
        #expect(try session.tick(at: .seconds(10)).sendCursor)
        #expect(session.cursorToSend() == VersionVector([NodeID(9): 7]))
        #expect(session.cursorToSend() == nil, "once")
        let reserved = session.reserveBatch()
        let id = try #require(reserved)
        var page = RowFeed()
        page.cursor = VersionVector([NodeID(9): 7])
        session.sent(feed: page, bytes: 10)
        _ = try session.received(.ack(id: id, VersionVector([NodeID(9): 7])), at: .seconds(11))
        #expect(try session.tick(at: .seconds(20)).sendCursor == false, "the ward's cursor is where the judging is")
        var fed = SyncStateMachine(peer: "central", configuration: .init(options, takesFeed: true), now: .zero)
        _ = try fed.received(.summary(VersionVector()), at: .zero)
        fed.judged(feedCursor: VersionVector([NodeID(9): 7]))
        #expect(fed.streamFrom == VersionVector(), "only a node serving the feed streams from what it judged")
    }
}
