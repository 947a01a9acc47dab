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

    /// Creates options.
    public init(mode: Mode = .live, maxChangesPerBatch: Int = 2_000, maxBytesPerBatch: Int = 4 << 20, window: Int = 4,
                compressionLevel: Int32 = 1, heartbeatInterval: Duration = .seconds(10), idleTimeout: Duration = .seconds(45)) {
        self.mode = mode
        self.maxChangesPerBatch = maxChangesPerBatch
        self.maxBytesPerBatch = maxBytesPerBatch
        self.window = window
        self.compressionLevel = compressionLevel
        self.heartbeatInterval = heartbeatInterval
        self.idleTimeout = idleTimeout
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
}

/// Anti-entropy over an established secure channel. Both sides run the same session:
/// each sends its summary (version vector), streams what the other lacks in batches
/// (applied transactionally and acknowledged), says it caught up, and then — in live
/// mode — pushes every new commit, local or relayed, as it happens.
public final class SyncSession<Receiver: FrameReceiving>: Sendable {
    private let replica: Replica
    private let peer: NodeCertificate
    private let sender: EncryptedSender
    private let options: SyncOptions
    private let logger: Logger
    private let state: SessionState
    private let progress: (@Sendable (SyncReport) -> Void)?

    /// Creates a session on a channel returned by ``Handshake/perform(as:admission:version:sender:receiver:)``.
    public init(replica: Replica, channel: SecureChannel<Receiver>, options: SyncOptions, logger: Logger,
                progress: (@Sendable (SyncReport) -> Void)? = nil) {
        self.replica = replica
        self.peer = channel.peer
        self.sender = channel.sender
        self.options = options
        self.logger = logger
        self.progress = progress
        self.state = SessionState(peer: channel.peer.name, window: max(options.window, 1))
    }

    /// Runs until the exchange is complete (one-shot), the peer leaves, or an error.
    /// - Parameter receiver: the channel's receiving half (consumed).
    /// - Parameter stillAdmitted: checked on every local change in live mode and at every heartbeat;
    ///   false ends the session (revocation, an expired certificate).
    public func run(receiving channel: SecureChannel<Receiver>,
                    stillAdmitted: @escaping @Sendable () async -> Bool = { true }) async throws -> SyncReport {
        var receiver = channel.receiver
        let events = replica.events()
        try await sender.send(.summary(try replica.versionVector()))
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        try await self.sendLoop(events: events, stillAdmitted: stillAdmitted)
                    } catch {
                        // Tell the peer and drop the link, so the receiving loop ends too.
                        if let error = error as? SyncError { try? await self.sender.send(.refusal(error.code, error.message)) }
                        await self.sender.close()
                        throw error
                    }
                }
                group.addTask {
                    do {
                        try await self.watch(stillAdmitted: stillAdmitted)
                    } catch {
                        if let error = error as? SyncError { try? await self.sender.send(.refusal(error.code, error.message)) }
                        await self.sender.close()
                        throw error
                    }
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

    /// Heartbeats (live), the idle timeout and the peer's admission, once per heartbeat interval.
    private func watch(stillAdmitted: @escaping @Sendable () async -> Bool) async throws {
        let clock = ContinuousClock()
        while !Task.isCancelled {
            do {
                try await clock.sleep(for: options.heartbeatInterval)
            } catch {
                return  // the session ended
            }
            if await state.isClosed { return }
            if clock.now - (await state.lastHeard) > options.idleTimeout {
                throw SyncError(.timedOut, "node '\(peer.name)' sent nothing for \(options.idleTimeout)")
            }
            guard await stillAdmitted() else {
                throw SyncError(.revoked, "node '\(peer.name)' is no longer admitted (revoked, or its certificate expired)")
            }
            if options.mode == .live { try await sender.send(.heartbeat) }
        }
    }

    private func receiveLoop(_ receiver: inout EncryptedReceiver<Receiver>) async throws {
        while let message = try await receiver.next() {
            await state.heard()
            switch message {
            case .summary(let vector):
                await state.received(summary: vector)
            case .batch(let id, let compressed):
                let bytes = try BatchCompression.decompress(compressed)
                let batch: ChangeBatch
                do {
                    batch = try ChangeBatch(decoding: bytes)
                } catch {
                    throw SyncError(.protocolViolation, "a malformed change batch: \(error.reason)")
                }
                let report: ApplyReport
                do {
                    report = try await replica.apply(batch)
                } catch let error as ReplicaError {
                    // The peer hears the code only: messages can name row ids (a phone number keys some tables).
                    logger.warning("refused a batch", metadata: ["sync.peer": "\(peer.name)", "sync.error": "\(error.code.rawValue)"])
                    throw SyncError(.protocolViolation, "a batch was refused (\(error.code.rawValue))")
                }
                await state.received(batch: batch, bytes: compressed.count)
                logger.debug("applied a batch", metadata: ["sync.peer": "\(peer.name)", "sync.rows": "\(batch.changeCount)",
                                                           "sync.changed": "\(report.rowsChanged)", "sync.rejected": "\(report.rejected)"])
                try await sender.send(.ack(id: id, report.versionVector))
                if let progress { progress(await state.report) }
            case .ack(_, let vector):
                await state.acknowledged(vector)
                if let progress { progress(await state.report) }
            case .caughtUp:
                await state.peerCaughtUp()
            case .refusal(let code, let text):
                throw SyncError(code == .refusedByPeer ? .refusedByPeer : code, "the peer ended the session: \(text)")
            case .goodbye:
                return
            case .heartbeat:
                continue
            }
        }
        if options.mode == .oneShot, await !state.isComplete {
            throw SyncError(.connectionClosed, "the connection closed before the sync finished")
        }
    }

    private func sendLoop(events: AsyncStream<ReplicaEvent>, stillAdmitted: @escaping @Sendable () async -> Bool) async throws {
        let summary = await state.waitForSummary()
        try await stream(since: summary)
        try await sender.send(.caughtUp)
        await state.caughtUp()
        guard options.mode == .live else {
            // One-shot: once both sides caught up and every batch is acknowledged, say goodbye;
            // the peer then closes, which ends the receiving loop.
            if await state.waitUntilComplete() { try await sender.send(.goodbye) }
            return
        }
        for await _ in events {
            guard await stillAdmitted() else {
                throw SyncError(.revoked, "node '\(peer.name)' has been revoked")
            }
            try await stream(since: await state.sentVector)
        }
    }

    /// Sends, page by page, everything a holder of `since` lacks.
    private func stream(since: VersionVector) async throws {
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

/// The shared state of a session's two loops.
actor SessionState {
    private(set) var report: SyncReport
    private var summary: VersionVector?
    private var summaryWaiters: [CheckedContinuation<VersionVector, Never>] = []
    private var nextBatchID: UInt64 = 1
    private var inFlight = 0
    private let window: Int
    private var slotWaiters: [CheckedContinuation<Void, Never>] = []
    private var weCaughtUp = false, theyCaughtUp = false
    private var closed = false
    private var completionWaiters: [CheckedContinuation<Void, Never>] = []
    /// What the peer holds, as far as we know (summary, acknowledgements, what it sent us, what we sent).
    private(set) var sentVector = VersionVector()
    /// When the peer last sent anything.
    private(set) var lastHeard = ContinuousClock.now
    var isClosed: Bool { closed }

    func heard() {
        lastHeard = ContinuousClock.now
    }

    init(peer: String, window: Int) {
        self.report = SyncReport(peer: peer)
        self.window = window
    }

    var isComplete: Bool { weCaughtUp && theyCaughtUp && inFlight == 0 }

    func received(summary vector: VersionVector) {
        summary = vector
        sentVector.merge(vector)
        report.peerVector.merge(vector)
        for waiter in summaryWaiters { waiter.resume(returning: vector) }
        summaryWaiters = []
    }

    func waitForSummary() async -> VersionVector {
        if let summary { return summary }
        // The session may have ended before the send loop started waiting.
        if closed { return VersionVector() }
        return await withCheckedContinuation { summaryWaiters.append($0) }
    }

    func acquireSlot() async throws -> UInt64 {
        while inFlight >= window, !closed {
            await withCheckedContinuation { slotWaiters.append($0) }
        }
        if closed { throw SyncError(.connectionClosed, "the session ended") }
        inFlight += 1
        defer { nextBatchID += 1 }
        return nextBatchID
    }

    func sent(batch: ChangeBatch, bytes: Int) {
        report.batchesSent += 1
        report.rowsSent += batch.changeCount
        report.bytesSent += bytes
        advance(&sentVector, along: batch)
    }

    func acknowledged(_ vector: VersionVector) {
        inFlight = max(0, inFlight - 1)
        report.peerVector.merge(vector)
        sentVector.merge(vector)
        if !slotWaiters.isEmpty { slotWaiters.removeFirst().resume() }
        resumeIfComplete()
    }

    func received(batch: ChangeBatch, bytes: Int) {
        report.batchesReceived += 1
        report.rowsReceived += batch.changeCount
        report.bytesReceived += bytes
        // The sender holds what it sent: no need to send it back.
        advance(&sentVector, along: batch)
        advance(&report.peerVector, along: batch)
    }

    func caughtUp() {
        weCaughtUp = true
        resumeIfComplete()
    }

    func peerCaughtUp() {
        theyCaughtUp = true
        resumeIfComplete()
    }

    /// Waits until both sides caught up with nothing unacknowledged; false if the session closed first.
    func waitUntilComplete() async -> Bool {
        if !isComplete, !closed {
            await withCheckedContinuation { completionWaiters.append($0) }
        }
        return isComplete
    }

    private func resumeIfComplete() {
        guard isComplete || closed else { return }
        for waiter in completionWaiters { waiter.resume() }
        completionWaiters = []
    }

    /// Ends the session: wakes every waiter; no more batches may be sent.
    func close() {
        closed = true
        for waiter in slotWaiters { waiter.resume() }
        slotWaiters = []
        resumeIfComplete()
        if summary == nil {
            for waiter in summaryWaiters { waiter.resume(returning: VersionVector()) }
            summaryWaiters = []
        }
    }


    /// A run of commits continuing what the vector holds extends it.
    private func advance(_ vector: inout VersionVector, along batch: ChangeBatch) {
        for segment in batch.segments where segment.firstSeq <= vector[segment.origin] + 1 && segment.lastSeq > vector[segment.origin] {
            vector[segment.origin] = segment.lastSeq
        }
    }
}
