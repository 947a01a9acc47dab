import CMalloc
import Logging
import Replica

/// How a session runs.
public struct SyncOptions: Sendable {
    /// One-shot: exchange what each side lacks, then end. Live: keep pushing new commits as they happen.
    public enum Mode: Sendable {
        case oneShot
        case live
    }

    /// One-shot or live.
    public var mode: Mode
    /// Rows per batch (a commit larger than this still travels whole).
    public var maxChangesPerBatch: Int
    /// Batches sent before waiting for an acknowledgement.
    public var window: Int
    /// Commit bytes per batch before compression (a commit, or another origin's signed run, still travels whole).
    public var maxBytesPerBatch: Int
    /// zlib level for batches.
    public var compressionLevel: Int32
    /// How often a session sends a heartbeat and re-checks that its peer is still admitted
    /// (not revoked, certificate not expired).
    public var heartbeatInterval: Duration
    /// A session whose peer sent nothing (not even a heartbeat) for this long ends: a half-open
    /// connection cannot hold a session, or a node's one live session, forever.
    public var idleTimeout: Duration
    /// Live: how often commits the peer acknowledged without applying them (it held them, waiting
    /// for another origin's commit, and may have dropped them since) are offered again, from what
    /// the peer's acknowledgements say it holds.
    public var resendInterval: Duration
    /// Serving a ward the scoped feed, live: the least time between two looks for what changed in
    /// its scope. Commits that arrive meanwhile are judged together, so central's work per ward
    /// stays bounded however many wards write at once.
    public var feedInterval: Duration
    /// Batches and feed pages of at least this many changes (a catch-up's) are applied while the
    /// next one is read and decoded; smaller ones (live traffic) are applied as they come.
    public var pipelinedChanges: Int = 1_000

    /// Creates options.
    public init(
        mode: Mode = .live, maxChangesPerBatch: Int = 5_000, maxBytesPerBatch: Int = 4 << 20, window: Int = 4,
        compressionLevel: Int32 = 1, heartbeatInterval: Duration = .seconds(10), idleTimeout: Duration = .seconds(45),
        resendInterval: Duration = .seconds(600), feedInterval: Duration = .seconds(1)
    ) {
        self.mode = mode
        self.maxChangesPerBatch = maxChangesPerBatch
        self.maxBytesPerBatch = maxBytesPerBatch
        self.window = window
        self.compressionLevel = compressionLevel
        self.heartbeatInterval = heartbeatInterval
        self.idleTimeout = idleTimeout
        self.resendInterval = resendInterval
        self.feedInterval = feedInterval
    }
}

/// What a session did.
public struct SyncReport: Hashable, Sendable {
    /// The peer's name.
    public var peer: String
    /// Rows sent and received.
    public var rowsSent = 0, rowsReceived = 0
    /// Batches sent and received.
    public var batchesSent = 0, batchesReceived = 0
    /// Compressed batch bytes sent and received.
    public var bytesSent = 0, bytesReceived = 0
    /// The peer's version vector as last acknowledged.
    public var peerVector = VersionVector()

    /// An empty report for `peer` (a connection that carried no session).
    public init(peer: String) {
        self.peer = peer
    }
}

/// Anti-entropy over an established secure channel. Both sides run the same session:
/// each sends its summary (version vector), streams what the other lacks in batches
/// (applied transactionally and acknowledged), says it caught up, and then — in live
/// mode — pushes every new commit, local or relayed, as it happens.
///
/// The rules of the exchange are ``SyncStateMachine``'s; this class carries out what it decides:
/// one task receives and applies, one streams pages, one runs the timer.
public final class SyncSession<Receiver: FrameReceiving>: Sendable {
    private let replica: Replica
    private let peer: NodeCertificate
    private let sender: EncryptedSender
    private let options: SyncOptions
    private let logger: Logger
    private let state: SessionState
    private let progress: (@Sendable (SyncReport) -> Void)?
    /// What this node and the peer declare alike (the feed carries only that).
    private let shared: SharedSchema

    /// Creates a session on a channel returned by ``Handshake/perform(as:admission:version:sender:receiver:)``.
    public init(
        replica: Replica, channel: SecureChannel<Receiver>, options: SyncOptions, logger: Logger,
        progress: (@Sendable (SyncReport) -> Void)? = nil
    ) {
        self.replica = replica
        self.peer = channel.peer
        self.sender = channel.sender
        self.options = options
        self.logger = logger
        self.progress = progress
        self.shared = channel.shared
        let feedScope = Self.feedScope(replica: replica, peer: channel.peer)
        self.feedScope = feedScope
        self.state = SessionState(
            peer: channel.peer.name,
            configuration: SyncStateMachine.Configuration(options, takesFeed: replica.ownScope != nil, servesFeed: feedScope != nil))
    }

    /// The scope of a ward peer this node feeds (central, scoped policies), else nil.
    private let feedScope: FeedScope?

    private static func feedScope(replica: Replica, peer: NodeCertificate) -> FeedScope? {
        guard replica.policies.isScoped, peer.role == .ward, replica.role == .central else { return nil }
        return FeedScope(node: peer.nodeID, wards: Set(peer.wards))
    }

    /// Under scoped policies a ward node holds a subset only central's feed keeps exact: it syncs
    /// with central alone, and nobody else syncs with it.
    private func checkPairing() throws(SyncError) {
        guard replica.policies.isScoped else { return }
        if replica.role == .ward, peer.role != .central {
            throw SyncError(.scopeMismatch, "a ward node syncs with central only, not with '\(peer.name)' (\(peer.role))")
        }
        if peer.role == .ward, replica.role != .central {
            throw SyncError(.scopeMismatch, "ward node '\(peer.name)' syncs with central only")
        }
    }

    /// Runs until the exchange is complete (one-shot), the peer leaves, or an error.
    /// - Parameter receiver: the channel's receiving half (consumed).
    /// - Parameter stillAdmitted: checked on every local change in live mode and at every heartbeat;
    ///   false ends the session (revocation, an expired certificate).
    public func run(
        receiving channel: SecureChannel<Receiver>,
        stillAdmitted: @escaping @Sendable () async -> Bool = { true }
    ) async throws -> SyncReport {
        var receiver = channel.receiver
        // The send loop wakes on a local commit, or when the timer says held commits are due again.
        let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        do {
            try checkPairing()
        } catch {
            try? await sender.send(.refusal(error.code, error.message))
            await sender.close()
            throw error
        }
        if replica.ownScope != nil, try replica.adoptFeedSchema(shared.fingerprint) {
            logger.info("asked central for the whole scope again: it or this node declares more since the last feed", metadata: ["sync.peer": "\(peer.name)"])
        }
        let events = replica.events()
        // A ward node on the feed summarises where its feed stands; every other node its commits.
        try await sender.send(.summary(replica.ownScope != nil ? try replica.feedCursor() : try replica.versionVector()))
        // Signed heads: a peer that holds another history of an origin, signed by it, finds it out.
        try await sender.send(.heads(try replica.signedHeads(limit: SyncMessage.maximumHeads)))
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in events { wake.yield() }
                    wake.finish()
                }
                group.addTask {
                    try await self.endingOnError { try await self.sendLoop(wakeups: wakeups, stillAdmitted: stillAdmitted) }
                }
                group.addTask {
                    try await self.endingOnError { try await self.watch(stillAdmitted: stillAdmitted, wake: wake) }
                }
                do {
                    try await self.receiveLoop(&receiver)
                } catch {
                    await state.close()
                    group.cancelAll()
                    throw error
                }
                await state.close()
                group.cancelAll()
                try await group.waitForAll()
            }
        } catch let error as SyncError {
            if error.code != .refusedByPeer, error.code != .connectionClosed {
                try? await sender.send(.refusal(error.code, error.message))
            }
            await sender.close()
            throw error
        }
        return await state.report
    }

    /// Runs one of the session's tasks; when it fails, tells the peer and drops the link, so the
    /// receiving loop ends too.
    private func endingOnError(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            // A task that found the session already ended has nothing to tell the peer.
            if let error = error as? SyncError, error.code != .connectionClosed { try? await sender.send(.refusal(error.code, error.message)) }
            await sender.close()
            throw error
        }
    }

    /// The timer: idle timeout, admission re-check, (live) heartbeat and held commits offered
    /// again, once per heartbeat interval.
    private func watch(stillAdmitted: @escaping @Sendable () async -> Bool, wake: AsyncStream<Void>.Continuation) async throws {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: options.heartbeatInterval)
            } catch {
                return  // the session ended
            }
            let due = try await state.tick()
            if due.checkAdmission { try await state.admissionChecked(await stillAdmitted()) }
            if due.sendHeartbeat { try await sender.send(.heartbeat) }
            if due.resend {
                logger.debug("offering again commits the peer held", metadata: ["sync.peer": "\(peer.name)"])
                wake.yield()
            }
            if due.sendCursor { wake.yield() }
        }
    }

    /// Receives, decrypts, inflates and decodes the peer's messages. A large batch or feed page (a
    /// catch-up's) is applied and acknowledged by a task of its own, so the next one is read and
    /// decoded while it is merged: in a catch-up the writer, not this task, is the bottleneck, and
    /// one decoded batch more is held. Batches are applied one at a time and in order; a small one
    /// (live traffic) is applied here, after the one in flight, without a task's hop through the
    /// shared pool, which under a fleet's load costs more than it saves. Every message but a batch,
    /// a feed page, an acknowledgement or a heartbeat is taken only once the batch in flight is
    /// applied: the peer's `caughtUp` must not make goodbye due (here or in the sending loop) while
    /// a batch of its is still unapplied and unacknowledged, and its refusal, goodbye and signed
    /// heads follow what it sent before them.
    private func receiveLoop(_ receiver: inout EncryptedReceiver<Receiver>) async throws {
        var applying: Task<Void, any Error>?
        do {
            while let message = try await nextMessage(&receiver) {
                if Self.followsAppliedBatches(message) {
                    try await applying?.value
                    applying = nil
                }
                let reaction = try await state.received(message)
                switch reaction {
                case .apply(let id, let compressed):
                    let batch = try decodeBatch(compressed)
                    await state.arrived(batch: batch, bytes: compressed.count)
                    applying = try await apply(after: applying, changes: batch.changeCount) { try await self.apply(id: id, batch) }
                case .applyFeed(let id, let compressed):
                    let feed = try decodeFeed(compressed)
                    await state.arrived(feed: feed, bytes: compressed.count)
                    applying = try await apply(after: applying, changes: feed.count) { try await self.apply(id: id, feed) }
                case .none, .startStreaming:
                    break
                case .slotOpened(let sayGoodbye):
                    if sayGoodbye {
                        try await applying?.value
                        try await sender.send(.goodbye)
                    }
                    if let progress { progress(await state.report) }
                case .sayGoodbye:
                    try await applying?.value
                    try await sender.send(.goodbye)
                case .checkHeads(let heads):
                    try await applying?.value
                    let found = try await replica.checkSignedHeads(heads)
                    if !found.isEmpty {
                        logger.error(
                            "a peer's signed heads show nodes that signed two histories; they are quarantined",
                            metadata: [
                                "sync.peer": "\(peer.name)", "sync.nodes": "\(found.map(\.description).joined(separator: ","))",
                            ])
                    }
                case .finish:
                    try await applying?.value
                    return
                }
            }
            try await applying?.value
        } catch {
            // A batch that failed to apply ended the link (its task told the peer why): that is
            // the session's failure, not the closed connection this task found next. Any other
            // failure of this task's own (a refusal from the peer, a malformed frame) is kept.
            let closed = (error as? SyncError).map { $0.code == .connectionClosed } ?? true
            if closed, let applying, case .failure(let failure) = await applying.result { throw failure }
            _ = await applying?.result
            throw error
        }
        if options.mode == .oneShot, await !state.isComplete {
            throw SyncError(.connectionClosed, "the connection closed before the sync finished")
        }
    }

    /// Applies a decoded batch or feed page once the one in flight is applied: a large one (a
    /// catch-up's) by a task of its own, returned as the one now in flight, a small one here.
    /// - Throws: the failure of the one in flight, or of a small one applied here.
    private func apply(
        after inFlight: Task<Void, any Error>?, changes: Int, _ body: @escaping @Sendable () async throws -> Void
    ) async throws -> Task<Void, any Error>? {
        try await inFlight?.value
        guard changes >= options.pipelinedChanges else {
            try await body()
            return nil
        }
        return Task { try await self.endingOnError(body) }
    }

    /// Whether a message is taken only once the batch in flight is applied (everything but batches,
    /// feed pages, acknowledgements of ours and heartbeats).
    private static func followsAppliedBatches(_ message: SyncMessage) -> Bool {
        switch message {
        case .batch, .feed, .ack, .heartbeat: false
        case .summary, .caughtUp, .refusal, .goodbye, .heads, .policies: true
        }
    }

    /// The peer's next message; nil at the end. Once a one-shot exchange is complete (goodbye
    /// said), how a live peer's side of the connection ends is no failure of the exchange.
    private func nextMessage(_ receiver: inout EncryptedReceiver<Receiver>) async throws -> SyncMessage? {
        do {
            return try await receiver.next()
        } catch {
            if options.mode == .oneShot, await state.isComplete { return nil }
            throw error
        }
    }

    /// Decompresses and decodes a batch from the peer.
    private func decodeBatch(_ compressed: [UInt8]) throws -> ChangeBatch {
        let bytes = try BatchCompression.decompress(compressed)
        do {
            return try ChangeBatch(decoding: bytes)
        } catch {
            throw SyncError(.protocolViolation, "a malformed change batch: \(error.reason)")
        }
    }

    /// Applies a batch from the peer and acknowledges it.
    private func apply(id: UInt64, _ batch: ChangeBatch) async throws {
        let report: ApplyReport
        do {
            report = try await replica.apply(batch)
        } catch let error as ReplicaError {
            // The peer hears the code only: messages can name row ids (a phone number keys some tables).
            logger.warning("refused a batch", metadata: ["sync.peer": "\(peer.name)", "sync.error": "\(error.code.rawValue)"])
            throw SyncError(.protocolViolation, "a batch was refused (\(error.code.rawValue))")
        }
        logger.debug(
            "applied a batch",
            metadata: [
                "sync.peer": "\(peer.name)", "sync.rows": "\(batch.changeCount)",
                "sync.changed": "\(report.rowsChanged)", "sync.rejected": "\(report.rejected)",
            ])
        try await sender.send(.ack(id: id, report.versionVector))
        if batch.changeCount >= options.pipelinedChanges { Self.releaseFreeMemory() }
        if let progress { progress(await state.report) }
    }

    /// Decompresses and decodes a page of central's scoped feed.
    private func decodeFeed(_ compressed: [UInt8]) throws -> RowFeed {
        let bytes = try BatchCompression.decompress(compressed)
        do {
            return try RowFeed(decoding: bytes, policies: replica.policies, shared: shared)
        } catch {
            throw SyncError(.protocolViolation, "a malformed feed page: \(error.reason)")
        }
    }

    /// Applies a page of central's scoped feed and acknowledges it with the feed cursor.
    private func apply(id: UInt64, _ feed: RowFeed) async throws {
        let report: FeedReport
        do {
            report = try await replica.applyFeed(feed)
        } catch let error as ReplicaError {
            logger.warning("refused a feed page", metadata: ["sync.peer": "\(peer.name)", "sync.error": "\(error.code.rawValue)"])
            throw SyncError(.protocolViolation, "a feed page was refused (\(error.code.rawValue))")
        }
        logger.debug(
            "applied a feed page",
            metadata: [
                "sync.peer": "\(peer.name)", "sync.rows": "\(feed.count)", "sync.changed": "\(report.rowsChanged)",
                "sync.purged": "\(report.purged)", "sync.refused": "\(report.refused.values.reduce(0, +))",
            ])
        try await sender.send(.ack(id: id, report.cursor))
        if feed.count >= options.pipelinedChanges { Self.releaseFreeMemory() }
        if let progress { progress(await state.report) }
    }

    /// After a catch-up's batch: the batches before it were decoded, merged and freed on different
    /// threads, so their freed pages lie in several malloc arenas; they go back to the system,
    /// which keeps the process's peak down (`malloc_trim`; 2 % of a 1,000,000-change catch-up, on
    /// the writer's path: the next batch's apply starts after it).
    private static func releaseFreeMemory() {
        _ = suifang_release_free_memory()
    }

    private func sendLoop(wakeups: AsyncStream<Void>, stillAdmitted: @escaping @Sendable () async -> Bool) async throws {
        guard let summary = await state.waitForSummary() else { return }
        try await stream(since: summary)
        try await sender.send(.caughtUp)
        // One-shot: goodbye once both sides caught up and every batch is acknowledged (here, or
        // when the last acknowledgement arrives); the peer then closes, which ends the receiving loop.
        if await state.caughtUp() { try await sender.send(.goodbye) }
        guard options.mode == .live else { return }
        var lastLook = ContinuousClock.now
        for await _ in wakeups {
            try await state.admissionChecked(await stillAdmitted())
            if feedScope != nil {
                // Commits that arrive while this waits are judged in the same look.
                let wait = options.feedInterval - (ContinuousClock.now - lastLook)
                if wait > .zero {
                    try await Task.sleep(for: wait)
                    // A revocation during the wait must not let one more look go out.
                    try await state.admissionChecked(await stillAdmitted())
                }
                lastLook = ContinuousClock.now
            }
            try await stream(since: await state.streamFrom, live: true)
        }
    }

    /// Sends, page by page, everything a holder of `since` lacks (a ward on the feed: its scope's
    /// rows that changed after its feed cursor `since`).
    /// - Parameter live: a live look after a wake-up (serving the feed: a page that would only
    ///   move the ward's cursor is held until the next tick asks for it).
    private func stream(since: VersionVector, live: Bool = false) async throws {
        if let feedScope { return try await streamFeed(feedScope, since: since, holdingCursorOnly: live) }
        var cursor: ChangeCursor?
        repeat {
            let page = try replica.changes(since: since, after: cursor, maxChanges: options.maxChangesPerBatch, maxBytes: options.maxBytesPerBatch)
            cursor = page.next
            guard !page.batch.isEmpty else { continue }
            let compressed = try BatchCompression.compress(page.batch.encoded(), level: options.compressionLevel)
            let id = try await state.acquireSlot()
            try await sender.send(.batch(id: id, compressed: compressed))
            await state.sent(batch: page.batch, bytes: compressed.count)
        } while cursor != nil
    }
}

extension SyncSession {
    private func streamFeed(_ scope: FeedScope, since: VersionVector, holdingCursorOnly: Bool) async throws {
        var cursor: FeedCursor?
        repeat {
            let page = try replica.feed(for: scope, since: since, after: cursor, maxRows: options.maxChangesPerBatch, maxBytes: options.maxBytesPerBatch)
            cursor = page.next
            // A page that only moves the cursor still goes (the ward's summary must move on), at
            // once when catching up, at the next tick when live.
            guard !page.feed.isEmpty || !since.dominates(page.feed.cursor) else { continue }
            if page.feed.isEmpty, holdingCursorOnly {
                await state.judged(feedCursor: page.feed.cursor)
                continue
            }
            try await send(page.feed)
        } while cursor != nil
        if let due = await state.cursorToSend() {
            var feed = RowFeed()
            feed.cursor = due
            try await send(feed)
        }
    }

    private func send(_ feed: RowFeed) async throws {
        let compressed = try BatchCompression.compress(try feed.encoded(for: shared, policies: replica.policies), level: options.compressionLevel)
        let id = try await state.acquireSlot()
        try await sender.send(.feed(id: id, compressed: compressed))
        await state.sent(feed: feed, bytes: compressed.count)
    }
}

/// The session's ``SyncStateMachine``, shared by its tasks, with the waiting the machine leaves
/// to its driver: for the peer's summary and for a free batch slot. Time comes from the
/// continuous clock, as a duration since the session started.
actor SessionState {
    private var machine: SyncStateMachine
    private let start = ContinuousClock.now
    private var summary: VersionVector?
    private var summaryWaiters: [CheckedContinuation<VersionVector?, Never>] = []
    private var slotWaiters: [CheckedContinuation<Void, Never>] = []

    init(peer: String, configuration: SyncStateMachine.Configuration) {
        machine = SyncStateMachine(peer: peer, configuration: configuration, now: .zero)
    }

    private var now: Duration { ContinuousClock.now - start }

    var report: SyncReport { machine.report }
    var sentVector: VersionVector { machine.sentVector }
    var isComplete: Bool { machine.isComplete }

    func received(_ message: SyncMessage) throws(SyncError) -> SyncStateMachine.Reaction {
        let reaction: SyncStateMachine.Reaction
        do {
            reaction = try machine.received(message, at: now)
        } catch {
            wakeEveryone()
            throw error
        }
        switch reaction {
        case .startStreaming(let since):
            summary = since
            for waiter in summaryWaiters { waiter.resume(returning: since) }
            summaryWaiters = []
        case .slotOpened:
            if !slotWaiters.isEmpty { slotWaiters.removeFirst().resume() }
        case .finish:
            wakeEveryone()
        case .none, .apply, .applyFeed, .sayGoodbye, .checkHeads:
            break
        }
        return reaction
    }

    func arrived(batch: ChangeBatch, bytes: Int) {
        machine.arrived(batch: batch, bytes: bytes)
    }

    /// The peer's summary, once it arrives; nil when the session ended first.
    func waitForSummary() async -> VersionVector? {
        if let summary { return summary }
        if machine.isClosed { return nil }
        return await withCheckedContinuation { summaryWaiters.append($0) }
    }

    /// An id for the next batch, once the window has room.
    func acquireSlot() async throws -> UInt64 {
        while true {
            if machine.isClosed { throw SyncError(.connectionClosed, "the session ended") }
            if let id = machine.reserveBatch() { return id }
            await withCheckedContinuation { slotWaiters.append($0) }
        }
    }

    func sent(batch: ChangeBatch, bytes: Int) {
        machine.sent(batch: batch, bytes: bytes)
    }

    func sent(feed: RowFeed, bytes: Int) {
        machine.sent(feed: feed, bytes: bytes)
    }

    func arrived(feed: RowFeed, bytes: Int) {
        machine.arrived(feed: feed, bytes: bytes)
    }

    /// We sent everything; returns whether goodbye is due.
    func caughtUp() -> Bool {
        machine.caughtUp()
    }

    var streamFrom: VersionVector { machine.streamFrom }

    func judged(feedCursor cursor: VersionVector) {
        machine.judged(feedCursor: cursor)
    }

    func cursorToSend() -> VersionVector? {
        machine.cursorToSend()
    }

    func tick() throws(SyncError) -> SyncStateMachine.TickActions {
        do {
            return try machine.tick(at: now)
        } catch {
            wakeEveryone()
            throw error
        }
    }

    func admissionChecked(_ admitted: Bool) throws(SyncError) {
        do {
            try machine.admissionChecked(admitted)
        } catch {
            wakeEveryone()
            throw error
        }
    }

    /// Ends the session: wakes every waiter; no more batches may be sent.
    func close() {
        machine.close()
        wakeEveryone()
    }

    private func wakeEveryone() {
        for waiter in slotWaiters { waiter.resume() }
        slotWaiters = []
        if summary == nil {
            for waiter in summaryWaiters { waiter.resume(returning: nil) }
            summaryWaiters = []
        }
    }
}
