import Synchronization

/// Runs of commits a replica could not apply yet, kept in memory and tried again after every
/// batch, so that a live session does not stall until the next one: a run that *waits* (a ward's
/// change names a commit of another origin that has not arrived, say a transfer a relay sends on a
/// later page) and the runs of the same origin that follow it (*gaps*: they start after commits
/// the replica lacks). What falls out, or is lost with the process, is sent again by a later
/// session (the sender's estimate of this node never covered it).
///
/// Bounded so that no peer can crowd it: 32 runs, 16 MiB, 4 runs per origin, 10 minutes each; a
/// gap is kept only behind a run of its origin that waits (gaps are not verified until retried,
/// and one kept from an earlier batch that turns out forged is dropped); the runs kept longest are
/// kept first (a waiting run comes before the gaps that need it).
final class WaitingRuns: Sendable {
    static let maximumRuns = 32
    static let maximumRunsPerOrigin = 4
    static let maximumBytes = 16 << 20
    static let maximumAge: UInt64 = 10 * 60 * 1000

    /// A run that could not apply, and since when it is kept (nil: from the batch being merged).
    struct Run: Sendable {
        var segment: ChainSegment
        var waits: Bool
        var keptAt: UInt64?
    }

    private let runs = Mutex<[Run]>([])

    /// The kept runs, longest kept first (left in place: a merge that fails changes nothing).
    func snapshot() -> [Run] {
        runs.withLock { $0 }
    }

    /// Replaces the kept runs with those still waiting after a merge committed, within the bounds.
    func replace(with waiting: [Run], now: UInt64) {
        let waitingOrigins = Set(waiting.filter(\.waits).map(\.segment.origin))
        var kept: [Run] = [], perOrigin: [NodeID: Int] = [:], bytes = 0
        for var run in waiting {
            let keptAt = run.keptAt ?? now
            let size = run.segment.bodies.reduce(0) { $0 + $1.count }
            guard now &- keptAt <= Self.maximumAge, run.waits || waitingOrigins.contains(run.segment.origin),
                kept.count < Self.maximumRuns, perOrigin[run.segment.origin, default: 0] < Self.maximumRunsPerOrigin,
                bytes + size <= Self.maximumBytes
            else { continue }
            run.keptAt = keptAt
            kept.append(run)
            perOrigin[run.segment.origin, default: 0] += 1
            bytes += size
        }
        runs.withLock { $0 = kept }
    }

    /// How many runs are kept.
    var count: Int { runs.withLock { $0.count } }
}
