import Sodium

/// What two nodes' policy sets have in common, when the nodes run different releases.
///
/// A release may add tables and nullable columns at the end of a table (see ``PolicyEvolution``);
/// nodes on release N and N-1 still sync. Each merges what it declares and passes on the rest: a
/// change to a table or column it does not declare is skipped when merging and kept, with the
/// whole commit, to relay and to merge once the node is upgraded. The scoped feed, which carries
/// rows and not commits, carries only what both ends declare.
///
/// Two sets are compatible when every table both declare is declared alike (key, row policy,
/// writers, deletes, ownership, hold, scope root), the columns of one are the first columns of the
/// other, and every column only one declares is nullable; a table only one declares must not be
/// the scope root. Anything else (a lifecycle state added, a rule relaxed) needs equal sets.
public struct SharedSchema: Hashable, Sendable {
    /// For each table both sets declare, how many columns both declare (the first ones of each).
    public let columns: [String: Int]

    /// Whether both sets are the same (nothing to skip or pad).
    public let isWhole: Bool

    /// The schema of one set with itself.
    public init(whole policies: PolicySet) {
        self.init(columns: Dictionary(uniqueKeysWithValues: policies.tables.map { ($0.name, $0.columns.count) }), isWhole: true)
    }

    private init(columns: [String: Int], isWhole: Bool) {
        self.columns = columns
        self.isWhole = isWhole
    }

    /// What `own` and `peer` have in common.
    /// - Throws: ``PolicyIncompatibility`` naming the first table or column the two declare differently.
    public init(_ own: PolicySet, _ peer: PolicySet) throws(PolicyIncompatibility) {
        guard own.contentHash != peer.contentHash else {
            self.init(whole: own)
            return
        }
        let theirs = Dictionary(uniqueKeysWithValues: peer.tables.map { ($0.name, $0) })
        let ownNames = Set(own.tables.map(\.name))
        var columns: [String: Int] = [:]
        for table in peer.tables where !ownNames.contains(table.name) && table.scopeRoot != nil {
            throw PolicyIncompatibility(table: table.name, "the peer's scope root is not declared here")
        }
        for table in own.tables {
            guard let other = theirs[table.name] else {
                guard table.scopeRoot == nil else { throw PolicyIncompatibility(table: table.name, "the scope root is not declared by the peer") }
                continue
            }
            let shared = min(table.columns.count, other.columns.count)
            var mine = table, yours = other
            mine.columns = Array(table.columns.prefix(shared))
            yours.columns = Array(other.columns.prefix(shared))
            guard mine.canonicalText == yours.canonicalText else {
                throw PolicyIncompatibility(table: table.name, "declared differently (not only columns added at the end)")
            }
            let longer = table.columns.count > shared ? table : other
            if let strict = longer.columns.dropFirst(shared).first(where: \.notNull) {
                throw PolicyIncompatibility(table: table.name, "column '\(strict.name)' is added as not null")
            }
            columns[table.name] = shared
        }
        self.init(columns: columns, isWhole: false)
    }

    /// A short fingerprint of what is shared: a ward node that synced its scope under another one
    /// asks central for its whole scope again.
    public var fingerprint: String { Self.fingerprint(columns) }

    /// The fingerprint of tables with these column counts.
    static func fingerprint(_ columns: [String: Int]) -> String {
        Sodium.hexHash(columns.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: "\n"))
    }
}

/// Two policy sets that nodes cannot sync under, naming the table and what differs (never data).
public struct PolicyIncompatibility: Error, Hashable, Sendable, CustomStringConvertible {
    /// The table.
    public var table: String
    /// What differs.
    public var problem: String

    /// Creates an incompatibility.
    public init(table: String, _ problem: String) {
        self.table = table
        self.problem = problem
    }

    public var description: String { "table '\(table)': \(problem)" }
}

extension PolicySet {
    /// The canonical text of the whole set: what its ``contentHash`` hashes, and what a node sends
    /// a peer on another release so the peer can judge compatibility. It parses back to this set.
    public var canonicalText: String { Self.canonicalText(of: tables) }
}
