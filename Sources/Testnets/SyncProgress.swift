import NodeRuntime
import Replica

/// How far running nodes have synced, read from their replica files without disturbing them.
enum SyncProgress {
    /// Whether a ward node on central's scoped feed has caught up: central holds every commit the
    /// ward holds (its own, and those it made under an earlier id before it was restored from a
    /// backup), and the ward's feed cursor reflects every commit central holds.
    static func wardCaughtUp(ward: String, central: String) -> Bool {
        guard let summary = try? Replica.summary(of: NodeDirectory(ward).replicaFile()),
            let centralCommits = try? Replica.summary(of: NodeDirectory(central).replicaFile()).newestCommits
        else { return false }
        let held = summary.newestCommits.filter { $0.value > 0 }
        return summary.feedCursor == centralCommits.filter { $0.value > 0 } && held.allSatisfy { origin, seq in (centralCommits[origin] ?? 0) >= seq }
    }
}
