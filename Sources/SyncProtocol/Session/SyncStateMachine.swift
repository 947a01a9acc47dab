import Replica

/// What a sync session does next, decided without sockets, tasks or clocks.
///
/// ``SyncSession`` feeds it events (a message from the peer, a batch about to go out, a batch
/// applied, a timer tick carrying the time of an injected clock) and carries out what it answers.
/// Every rule of the exchange lives here, so each is tested without a network
/// (`SyncStateMachineTests`):
/// - the peer sends one summary, then batches with increasing ids, acknowledgements only of
///   batches in flight, one "caught up", and goodbye; anything else is a protocol violation;
/// - at most `window` batches are unacknowledged;
/// - a one-shot session says goodbye once both sides caught up and every batch is acknowledged;
/// - a peer silent for longer than the idle timeout ends the session; every heartbeat interval
///   the peer's admission is re-checked and, live, a heartbeat goes out;
/// - live, once per resend interval, commits the peer acknowledged without applying (it held
///   them waiting for another origin's commit, and may have dropped them since) are offered
///   again: what we sent is wound back to what its acknowledgements say it holds.
///
/// ```
///  awaitingSummary ──summary──▶ exchanging ──(both caught up, all acknowledged)──▶ complete
///        │                          │                                              │
///        └────────── refusal, violation, timeout, revocation, goodbye ─────────────┴──▶ closed
/// ```
struct SyncStateMachine {
    /// The knobs of ``SyncOptions`` the machine needs.
    struct Configuration {
        var mode: SyncOptions.Mode
        var window: Int
        var heartbeatInterval: Duration
        var idleTimeout: Duration
        var resendInterval: Duration
        /// This node is a ward under scoped policies: it takes central's feed, never commits.
        var takesFeed = false
        /// The peer is such a ward: it gets the feed, and what it sends (its own commits) says
        /// nothing about how far its feed cursor is.
        var servesFeed = false

        init(_ options: SyncOptions, takesFeed: Bool = false, servesFeed: Bool = false) {
            self.takesFeed = takesFeed
            self.servesFeed = servesFeed
            mode = options.mode
            window = max(options.window, 1)
            heartbeatInterval = options.heartbeatInterval
            idleTimeout = options.idleTimeout
            resendInterval = options.resendInterval
        }
    }

    /// Where the exchange stands.
    enum Phase: Equatable {
        /// Our summary is out; the peer's has not arrived.
        case awaitingSummary
        /// Both summaries known: batches flow both ways.
        case exchanging
        /// One-shot: both caught up, nothing unacknowledged, goodbye said.
        case complete
        /// Ended (by either side, an error or a timeout): nothing more is sent.
        case closed
    }

    /// What to do with a message from the peer.
    enum Reaction: Equatable {
        /// Nothing (bookkeeping only).
        case none
        /// The peer's summary arrived: stream what it lacks, from this vector.
        case startStreaming(since: VersionVector)
        /// Decompress and decode the batch, call ``arrived(batch:bytes:)``, apply it, acknowledge it.
        case apply(id: UInt64, compressed: [UInt8])
        /// Decompress and decode the feed page, apply it, acknowledge it with the feed cursor.
        case applyFeed(id: UInt64, compressed: [UInt8])
        /// A batch slot opened (wake a sender waiting for the window) and, one-shot, maybe goodbye.
        case slotOpened(sayGoodbye: Bool)
        /// One-shot: everything is exchanged; send goodbye.
        case sayGoodbye
        /// The peer's signed heads arrived: compare them with this replica's chains.
        case checkHeads([SignedHead])
        /// The peer said goodbye: the session ends.
        case finish
    }

    /// What a timer tick asks for.
    struct TickActions: Equatable {
        /// Re-check that the peer is still admitted (not revoked, certificate valid).
        var checkAdmission: Bool
        /// Send a heartbeat (live sessions).
        var sendHeartbeat: Bool
        /// Stream again from ``SyncStateMachine/sentVector``, wound back to what the peer holds.
        var resend = false
        /// Serving the feed, live: the ward's cursor lags what was judged for it; wake the sender,
        /// which sends ``SyncStateMachine/cursorToSend()``.
        var sendCursor = false
    }

    let configuration: Configuration
    private(set) var phase = Phase.awaitingSummary
    private(set) var report: SyncReport
    /// What the peer holds, as far as we know (summary, acknowledgements, what it sent us, what we sent).
    private(set) var sentVector = VersionVector()
    private var inFlight: Set<UInt64> = []
    private var nextBatchID: UInt64 = 1
    private var lastReceivedBatchID: UInt64 = 0
    private var weCaughtUp = false
    private var theyCaughtUp = false
    private var theySentHeads = false
    private var lastHeard: Duration
    private var lastResend: Duration
    /// Serving the feed, live: how far this node has judged its commits for the ward, beyond what
    /// went out. A page that would only move the ward's cursor is not sent at each commit (with a
    /// fleet of wards, every commit anywhere would cost every ward a page, a transaction and an
    /// acknowledgement); it goes once per heartbeat interval, after ``tick(at:)`` says so.
    private var judgedVector = VersionVector()
    private var cursorDue = false

    /// Starts a session at `now` (on whatever clock the caller injects: only differences matter).
    init(peer: String, configuration: Configuration, now: Duration) {
        self.configuration = configuration
        self.report = SyncReport(peer: peer)
        self.lastHeard = now
        self.lastResend = now
    }

    /// Batches sent and not yet acknowledged.
    var unacknowledged: Int { inFlight.count }

    /// Whether both sides caught up with nothing unacknowledged.
    var isComplete: Bool { weCaughtUp && theyCaughtUp && inFlight.isEmpty }

    var isClosed: Bool { phase == .closed }

    // MARK: - Messages from the peer

    /// A message from the peer arrived at `now`.
    /// - Throws: ``SyncError`` when the message breaks the exchange's rules or is the peer's refusal.
    mutating func received(_ message: SyncMessage, at now: Duration) throws(SyncError) -> Reaction {
        guard phase != .closed else { return .none }
        lastHeard = now
        switch message {
        case .summary(let vector):
            guard phase == .awaitingSummary else { throw violation("a second summary") }
            phase = .exchanging
            sentVector.merge(vector)
            report.peerVector.merge(vector)
            return .startStreaming(since: sentVector)
        case .batch(let id, let compressed):
            guard !configuration.takesFeed else { throw violation("commits sent to a ward node that takes the scoped feed") }
            guard id > lastReceivedBatchID else { throw violation("batch ids must increase") }
            lastReceivedBatchID = id
            // One-shot and done (goodbye said): what a live peer pushes after it is not applied.
            return phase == .complete ? .none : .apply(id: id, compressed: compressed)
        case .feed(let id, let compressed):
            guard configuration.takesFeed else { throw violation("a scoped feed sent to a node that does not take one") }
            guard id > lastReceivedBatchID else { throw violation("batch ids must increase") }
            lastReceivedBatchID = id
            return phase == .complete ? .none : .applyFeed(id: id, compressed: compressed)
        case .ack(let id, let vector):
            guard inFlight.remove(id) != nil else { throw violation("an acknowledgement of a batch that is not in flight") }
            report.peerVector.merge(vector)
            sentVector.merge(vector)
            return .slotOpened(sayGoodbye: goodbyeIsDue())
        case .caughtUp:
            guard !theyCaughtUp else { throw violation("caught up twice") }
            theyCaughtUp = true
            return goodbyeIsDue() ? .sayGoodbye : .none
        case .refusal(let code, let text):
            phase = .closed
            throw SyncError(code == .refusedByPeer ? .refusedByPeer : code, "the peer ended the session: \(text)")
        case .goodbye:
            phase = .closed
            return .finish
        case .heartbeat:
            return .none
        case .policies:
            throw violation("conflict policies after the handshake")
        case .heads(let heads):
            guard phase != .awaitingSummary else { throw violation("signed heads before the summary") }
            guard !theySentHeads else { throw violation("signed heads twice") }
            theySentHeads = true
            return .checkHeads(heads)
        }
    }

    /// A batch from the peer decoded, about to be applied: what it holds, the peer holds, so
    /// nothing of it is sent back (noted before applying: the commit's event wakes the sender
    /// before the acknowledgement goes out).
    mutating func arrived(batch: ChangeBatch, bytes: Int) {
        report.batchesReceived += 1
        report.rowsReceived += batch.changeCount
        report.bytesReceived += bytes
        // A ward on the feed: its summary and acknowledgements are its feed cursor, which its own commits do not move.
        guard !configuration.servesFeed else { return }
        Self.advance(&sentVector, along: batch)
        Self.advance(&report.peerVector, along: batch)
    }

    /// A feed page from the peer decoded, about to be applied.
    mutating func arrived(feed: RowFeed, bytes: Int) {
        report.batchesReceived += 1
        report.rowsReceived += feed.count
        report.bytesReceived += bytes
    }

    // MARK: - Our side

    /// An id for the next batch to send, or nil while the window is full (wait for an
    /// acknowledgement) or the session is closed.
    mutating func reserveBatch() -> UInt64? {
        guard phase == .exchanging, inFlight.count < configuration.window else { return nil }
        defer { nextBatchID += 1 }
        inFlight.insert(nextBatchID)
        return nextBatchID
    }

    /// A batch went out.
    mutating func sent(batch: ChangeBatch, bytes: Int) {
        report.batchesSent += 1
        report.rowsSent += batch.changeCount
        report.bytesSent += bytes
        Self.advance(&sentVector, along: batch)
    }

    /// A feed page went out: the peer's cursor will be at least the page's.
    mutating func sent(feed: RowFeed, bytes: Int) {
        report.batchesSent += 1
        report.rowsSent += feed.count
        report.bytesSent += bytes
        sentVector.merge(feed.cursor)
    }

    /// Where the next stream starts: what the peer holds as far as we know, and, serving the
    /// feed, what was judged for it without a page.
    var streamFrom: VersionVector {
        configuration.servesFeed ? sentVector.merging(judgedVector) : sentVector
    }

    /// Serving the feed, live: commits up to `cursor` were judged and gave the ward no row; the
    /// page that would say so is held (see ``cursorToSend()``).
    mutating func judged(feedCursor cursor: VersionVector) {
        judgedVector.merge(cursor)
    }

    /// Serving the feed: the cursor-only page due after a tick asked for it (then no longer due),
    /// or nil.
    mutating func cursorToSend() -> VersionVector? {
        guard cursorDue else { return nil }
        cursorDue = false
        return sentVector.dominates(judgedVector) ? nil : sentVector.merging(judgedVector)
    }

    /// We sent everything the peer lacked (the "caught up" message goes out now).
    /// - Returns: whether goodbye is due as well.
    mutating func caughtUp() -> Bool {
        weCaughtUp = true
        return goodbyeIsDue()
    }

    /// One-shot and done: goodbye, once.
    private mutating func goodbyeIsDue() -> Bool {
        guard configuration.mode == .oneShot, isComplete, phase == .exchanging else { return false }
        phase = .complete
        return true
    }

    // MARK: - Time and admission

    /// The timer fired at `now`.
    /// - Throws: ``SyncError/Code/timedOut`` when the peer has been silent longer than the idle timeout.
    mutating func tick(at now: Duration) throws(SyncError) -> TickActions {
        guard phase != .closed else { return TickActions(checkAdmission: false, sendHeartbeat: false) }
        guard now - lastHeard <= configuration.idleTimeout else {
            phase = .closed
            throw SyncError(.timedOut, "node '\(report.peer)' sent nothing for \(configuration.idleTimeout)")
        }
        let resend = windBackIfDue(at: now)
        if configuration.servesFeed, configuration.mode == .live, phase == .exchanging, !sentVector.dominates(judgedVector) {
            cursorDue = true
        }
        return TickActions(checkAdmission: true, sendHeartbeat: configuration.mode == .live, resend: resend, sendCursor: cursorDue)
    }

    /// Live, caught up, nothing in flight, and the resend interval passed since the last time:
    /// when the peer's acknowledgements show it holds less than we sent (it held commits waiting
    /// for another origin's, or quarantined their origin), what we sent is wound back to what it
    /// holds, so the next stream offers those commits again. A peer that keeps refusing them gets
    /// them once per interval, a page at a time.
    private mutating func windBackIfDue(at now: Duration) -> Bool {
        guard configuration.mode == .live, phase == .exchanging, weCaughtUp, inFlight.isEmpty,
            now - lastResend >= configuration.resendInterval
        else { return false }
        lastResend = now
        guard sentVector.commitsAhead(of: report.peerVector) > 0 else { return false }
        sentVector = report.peerVector
        judgedVector = report.peerVector
        return true
    }

    /// The peer's admission was checked (at a tick or before pushing a local change).
    mutating func admissionChecked(_ admitted: Bool) throws(SyncError) {
        guard admitted else {
            phase = .closed
            throw SyncError(.revoked, "node '\(report.peer)' is no longer admitted (revoked, or its certificate expired)")
        }
    }

    /// The session ends: nothing more is sent.
    mutating func close() {
        phase = .closed
    }

    // MARK: -

    private func violation(_ what: String) -> SyncError {
        SyncError(.protocolViolation, "node '\(report.peer)' broke the exchange: \(what)")
    }

    /// A run of commits continuing what the vector holds extends it.
    private static func advance(_ vector: inout VersionVector, along batch: ChangeBatch) {
        for segment in batch.segments where segment.firstSeq <= vector[segment.origin] + 1 && segment.lastSeq > vector[segment.origin] {
            vector[segment.origin] = segment.lastSeq
        }
    }
}
