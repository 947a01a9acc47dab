import Foundation

/// Which archive merges are in effect, decided from the `patientMerge` rows alone.
///
/// Merges are taken oldest id first. A merge whose merged-away patient is already merged away,
/// or that would make a cycle (A into B and B into A made on two nodes at once), is skipped.
/// Undone merges are left out. Every node with the same rows gets the same graph, whatever
/// order the rows arrived in.
public struct MergeGraph: Sendable {
    /// merged-away patient → the patient it was merged into.
    public private(set) var parent: [String: String] = [:]
    /// Merge ids that were skipped (superseded by an earlier merge of the same patient, or a cycle).
    public private(set) var skipped: Set<String> = []

    /// - Parameter merges: `(mergeId, survivorId, mergedId)` of every merge not undone, any order.
    public init(merges: [(id: String, survivor: String, merged: String)]) {
        for merge in merges.sorted(by: { $0.id < $1.id }) {
            if merge.survivor == merge.merged || parent[merge.merged] != nil || root(of: merge.survivor) == merge.merged {
                skipped.insert(merge.id)
                continue
            }
            parent[merge.merged] = merge.survivor
        }
    }

    /// The archive a patient id shows under: itself, or the survivor of the merges it went through.
    public func root(of id: String) -> String {
        var current = id
        var steps = 0
        while let next = parent[current], steps <= parent.count {
            current = next
            steps += 1
        }
        return current
    }

    /// Every patient id whose records show under `root`, `root` first.
    public func members(of root: String) -> [String] {
        [root] + parent.keys.filter { $0 != root && self.root(of: $0) == root }.sorted()
    }

    /// Whether a patient has been merged into another.
    public func isMergedAway(_ id: String) -> Bool { parent[id] != nil }
}
