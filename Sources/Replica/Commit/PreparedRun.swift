import Foundation
import Sodium

/// One origin's run of commits, hashed along its chain, decoded and checked against the declared
/// rules (``CommitRules``) on another thread while the writer merges the commits before: the
/// hashing and decoding are a third of a merge's time and need nothing from the database, so a
/// second core takes them off the write transaction.
///
/// The writer takes the commits in order (``decoding(at:)``, which waits for a commit not ready
/// yet) and, before it stores anything of the run or lets any of it be seen outside the
/// transaction (a quarantine, a log line), asks whether the origin's signature holds
/// (``signatureHolds()``): a run that turns out forged throws, and its transaction rolls back
/// whatever of it was merged. The worker stays at most ``window`` bytes of commits ahead, so a
/// long run never holds more than that decoded (until the writer waits for the signature, which
/// needs the run's end). A short run is prepared on the calling thread, a commit at a time when
/// it is asked for (a hand-over costs more than it saves).
///
/// Given where the origin's packs end (``PackLead``), the worker also compresses the run's packs
/// (``preparedPacks()``), which the writer otherwise makes once the run is merged. And the writer
/// hands back the commits it merged (``retire(_:)``): the worker frees them, 7 % of the writer's
/// time in a catch-up taken off the write transaction.
final class PreparedRun: @unchecked Sendable {
    /// What a commit turned out to be.
    enum Decoding {
        /// It keeps the declared rules: its row changes.
        case decoded(CommitCodec.Decoded)
        /// It breaks one.
        case broken(CommitViolation)
    }

    /// How many body bytes of decoded commits the worker may hold that the writer has not taken
    /// (decoded, a commit takes a few times its body's size: a 500-row commit is ~60 KiB).
    static let window = 128 << 10
    /// Runs with fewer body bytes than this (past the commits already held) are prepared on the
    /// calling thread, each commit when it is asked for.
    static let minimumForWorker = 64 << 10

    private let segment: ChainSegment
    private let identity: OriginIdentity
    private let tables: [String: ReplicatedTable]
    private let limits: ChangeBatch.Limits
    /// The first position decoded: commits before it are held already (only hashed).
    private let start: Int
    private let threaded: Bool

    private let condition = NSCondition()
    // Guarded by `condition`:
    private var hashes: [[UInt8]] = []
    private var decodings: [Decoding?] = []
    private var taken = 0
    /// Body bytes of the decoded commits not taken yet.
    private var aheadBytes = 0
    /// Whether the signature holds; nil until it is checked.
    private var verdict: Bool?
    private var cancelled = false
    /// Set once the writer waits for the signature: the worker then only hashes, to the run's end.
    private var windowLifted = false
    /// The packs the worker closed, set with the verdict.
    private var packs: [PreparedPack] = []
    /// Merged commits' changes, for the worker to free.
    private var retired: [[RowDelta]] = []
    /// Whether the writer, or the worker, waits on the condition. Each wakes the other only then
    /// (and the worker waiting for room only once half its window is free): a needless wake-up
    /// costs a system call, and on two cores the woken thread often takes the waker's core.
    private var writerWaits = false
    private var workerWaits = false
    /// Where the worker starts packing (worker only).
    private var packBuilder: PackBuilder?

    /// Whether a run from position `start` is prepared on a worker (else on the calling thread).
    static func runsOnWorker(_ segment: ChainSegment, from start: Int) -> Bool {
        segment.bodies[start...].reduce(0) { $0 + $1.count } >= minimumForWorker
    }

    /// Starts preparing `segment`'s commits from position `start`, as `identity`'s; with `packLead`
    /// (the origin's loose commits before position `start`), its packs too.
    init(
        segment: ChainSegment, identity: OriginIdentity, tables: [String: ReplicatedTable], limits: ChangeBatch.Limits, from start: Int,
        packLead: PackLead? = nil
    ) {
        self.segment = segment
        self.identity = identity
        self.tables = tables
        self.limits = limits
        self.start = start
        threaded = Self.runsOnWorker(segment, from: start)
        hashes.reserveCapacity(segment.bodies.count)
        if threaded, let packLead, packLead.firstSeq + UInt64(packLead.bodies.count) == segment.firstSeq + UInt64(start) {
            packBuilder = PackBuilder(after: packLead)
        }
        // A thread of its own: a pool's thread might never come while the writer waits for it.
        if threaded { Thread { self.prepare() }.start() }
    }

    /// The packs made of the run's commits, in order (none for a run prepared on the calling
    /// thread). Call after ``signatureHolds()``.
    func preparedPacks() -> [PreparedPack] {
        condition.lock()
        defer { condition.unlock() }
        return packs
    }

    /// Commit `position` of the run (at or after the first decoded one), waiting until it is ready.
    func decoding(at position: Int) -> Decoding {
        guard threaded else { return decode(position) }
        let index = position - start
        condition.lock()
        // Once the writer waited for the signature the worker only hashes: what it did not decode
        // is decoded here.
        while decodings.count <= index, verdict == nil { writerWait() }
        guard decodings.count > index else {
            condition.unlock()
            return decode(position)
        }
        defer { condition.unlock() }
        let decoding = decodings[index]!
        decodings[index] = nil
        taken = index + 1
        aheadBytes -= segment.bodies[position].count
        if workerWaits, aheadBytes <= Self.window / 2 { condition.broadcast() }
        return decoding
    }

    /// The chain hash after commit `position`, waiting until it is computed.
    func hash(at position: Int) -> [UInt8] {
        if !threaded { hashInline() }
        condition.lock()
        defer { condition.unlock() }
        while hashes.count <= position { writerWait() }
        return hashes[position]
    }

    /// Whether the origin's signature over the run's last commit holds (false: the run is forged
    /// or altered), waiting until it is checked.
    func signatureHolds() -> Bool {
        if !threaded { hashInline() }
        condition.lock()
        defer { condition.unlock() }
        windowLifted = true
        condition.broadcast()
        while verdict == nil { writerWait() }
        return verdict == true
    }

    /// Hands a merged commit's changes to the worker, which frees them (a run prepared on the
    /// calling thread frees them here).
    func retire(_ deltas: [RowDelta]) {
        guard threaded else { return }
        condition.lock()
        retired.append(deltas)
        // While preparing, the worker frees them between commits, or once woken for room.
        if workerWaits, verdict != nil { condition.broadcast() }
        condition.unlock()
    }

    /// Stops the worker (the writer is done with the run, or gave up on it).
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    /// Decodes and checks commit `position`.
    private func decode(_ position: Int) -> Decoding {
        do throws(CommitViolation) {
            return .decoded(try CommitRules.check(segment.bodies[position], seq: segment.firstSeq + UInt64(position), by: identity, tables: tables, limits: limits))
        } catch {
            return .broken(error)
        }
    }

    /// On the calling thread: hashes the whole run and checks the signature, once (no worker
    /// exists in this mode, so nothing else touches the state).
    private func hashInline() {
        precondition(!threaded)
        guard verdict == nil else { return }
        hashes = CommitChain.hashes(of: segment)
        verdict = CommitChain.signatureHolds(segment, last: hashes.last ?? segment.previousHash, publicKey: identity.publicKey)
    }

    /// On the worker: hashes and decodes every commit in order, then checks the signature.
    private func prepare() {
        var hash = segment.previousHash
        var decodes = true  // until the writer waits for the signature (read under the lock below)
        for (position, body) in segment.bodies.enumerated() {
            let seq = segment.firstSeq + UInt64(position)
            hash = CommitChain.hash(previous: hash, origin: segment.origin, seq: seq, body: body)
            let decoding = decodes && position >= start ? decode(position) : nil
            condition.lock()
            while !cancelled, !windowLifted, decodings.count > taken, aheadBytes >= Self.window { workerWaitOrFree() }
            if cancelled {
                condition.unlock()
                return
            }
            hashes.append(hash)
            if let decoding {
                decodings.append(decoding)
                aheadBytes += body.count
            }
            let packs = decodes
            decodes = !windowLifted
            if writerWaits { condition.broadcast() }
            condition.unlock()
            // Packed once the writer has the commit, which it may be waiting for. Packing stops
            // once the writer waits for the signature (as decoding does): a forged run must not
            // hold the writer for its compression; the store packs what is left.
            if position >= start, packs { packBuilder?.add(seq: seq, hash: hash, body: body) }
            condition.lock()
            if !retired.isEmpty { freeRetired() }
            condition.unlock()
        }
        let holds = CommitChain.signatureHolds(segment, last: hash, publicKey: identity.publicKey)
        condition.lock()
        packs = packBuilder?.packs ?? []
        verdict = holds
        condition.broadcast()
        // Frees what the writer merges, until it is done with the run.
        while !cancelled || !retired.isEmpty { workerWaitOrFree() }
        condition.unlock()
    }

    /// With the lock held: the writer waits for the worker.
    private func writerWait() {
        writerWaits = true
        condition.wait()
        writerWaits = false
    }

    /// With the lock held: the worker frees what the writer retired, or else waits for the writer.
    private func workerWaitOrFree() {
        guard retired.isEmpty else { return freeRetired() }
        workerWaits = true
        condition.wait()
        workerWaits = false
    }

    /// With the lock held: frees the retired commits, the lock released meanwhile.
    private func freeRetired() {
        let garbage = retired
        retired = []
        condition.unlock()
        Self.free(garbage)
        condition.lock()
    }

    @inline(never)
    private static func free(_ garbage: consuming [[RowDelta]]) {}
}
