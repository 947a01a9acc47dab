import Synchronization

/// Runs of commits a replica could not apply yet — one waits for a commit of another origin that
/// has not arrived (a ward's change names a transfer a relay sends on a later page), or starts
/// after such a run — kept in memory and tried again after every batch, so a live session does not
/// stall until the next one. Bounded in runs and bytes: what falls out (oldest first) or is lost
/// with the process is sent again by a later session, since the sender's peer vector never
/// covered it. A run that still waits after ``maximumAttempts`` batches is dropped too: every
/// retry verifies its chain again.
final class WaitingRuns: Sendable {
    static let maximumRuns = 32
    static let maximumBytes = 16 << 20
    static let maximumAttempts = 64

    /// A kept run and how many batches it has waited through.
    struct Run: Sendable {
        var segment: ChainSegment
        var attempts: Int
    }

    private let runs = Mutex<[Run]>([])

    /// Takes every kept run (the caller keeps again those that still wait).
    func take() -> [Run] {
        runs.withLock { kept in
            defer { kept = [] }
            return kept
        }
    }

    /// Keeps `waiting`, one more attempt each, dropping the oldest past the bounds.
    func keep(_ waiting: [Run]) {
        guard !waiting.isEmpty else { return }
        runs.withLock { kept in
            kept += waiting.compactMap { $0.attempts < Self.maximumAttempts ? Run(segment: $0.segment, attempts: $0.attempts + 1) : nil }
            var bytes = kept.reduce(0) { $0 + Self.bytes($1.segment) }
            while kept.count > Self.maximumRuns || bytes > Self.maximumBytes {
                bytes -= Self.bytes(kept.removeFirst().segment)
            }
        }
    }

    /// How many runs are kept.
    var count: Int { runs.withLock { $0.count } }

    private static func bytes(_ segment: ChainSegment) -> Int {
        segment.bodies.reduce(0) { $0 + $1.count }
    }
}
