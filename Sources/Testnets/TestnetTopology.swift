import Foundation
import NodeHTTP
import NodeRuntime

/// A testnet file (JSON): nodes with roles and synthetic traffic, directed links
/// (`[from, to]`: `from` connects to `to` through a fault-injecting proxy), and a fault script.
///
/// ```json
/// { "name": "flaky-link", "duration": 10, "settleTimeout": 60,
///   "nodes": [ {"name": "central", "role": "central"},
///              {"name": "ward-1", "role": "ward", "traffic": 20} ],
///   "links": [ ["ward-1", "central"] ],
///   "faults": [ {"at": 0, "delay": ["ward-1", "central"], "ms": 80},
///               {"at": 0, "loss": ["ward-1", "central"], "percent": 2},
///               {"at": 3, "partition": ["ward-1", "central"]}, {"at": 6, "heal": ["ward-1", "central"]},
///               {"at": 4, "kill": "ward-1"}, {"at": 5, "restart": "ward-1"},
///               {"at": 0, "skew": "ward-1", "seconds": 3600},
///               {"at": 1, "heal": ["ward-1", "central"], "afterCaptured": 10000},
///               {"at": 2, "backup": "ward-1"}, {"at": 8, "restore": "ward-1"},
///               {"at": 9, "upgrade": "ward-1"} ],
///   "nextPolicies": { "addColumns": {"patient": ["probeNote text"]}, "addTables": ["table … "] } }
/// ```
/// Central's `transfers` moves made-up patients between the wards at that rate per second.
/// A node's `trafficTotal` stops its traffic after that many writes; a fault's `afterCaptured`
/// waits until the first node of its link has captured that many, and `whenReceiving` (with
/// `kill`) waits until the node is in the middle of receiving a sync.
package struct TestnetTopology: Codable {
    package struct Node: Codable {
        var name: String
        var role: String
        /// Survey responses captured per second while traffic runs.
        var traffic: Double?
        /// Stop after capturing this many (the testnet lasts long enough to reach it).
        var trafficTotal: Int?
        /// Central only: patients transferred between the wards per second while traffic runs.
        var transfers: Double?
        /// Days its certificate is valid (default 365): a short one must renew during the run.
        var validDays: Int?
    }

    package struct Fault: Codable {
        var at: Double
        var partition: [String]?
        var heal: [String]?
        var delay: [String]?
        var ms: Int?
        var loss: [String]?
        var percent: Double?
        var kill: String?
        /// With `kill`: wait (from `at`) until the node is receiving a sync, so the kill lands mid-sync.
        var whenReceiving: Bool?
        /// Wait (from `at`) until the first node of the fault's link has captured this many writes.
        var afterCaptured: Int?
        var restart: String?
        var skew: String?
        var seconds: Double?
        /// With `skew`: apply it this many times, `every` seconds apart, the clock `seconds` further
        /// ahead each time (a node living through simulated days, restarted each "day").
        var `repeat`: Int?
        var every: Double?
        /// `suifang backup` of the running node (its latest backup replaces any earlier one).
        var backup: String?
        /// The node's disk is lost: once central holds every write the node acknowledged, it is
        /// killed, its directory deleted, and its latest backup restored under a new id (a ward or
        /// call-center node with a token central issues for the same name, role and wards), then started.
        var restore: String?
        /// The node is upgraded to the next release: stopped, `suifang policies install` of the
        /// testnet's `nextPolicies`, started again.
        var upgrade: String?
        /// Central must come to hold every write the node acknowledged so far (within 30 s), or the
        /// run fails: the two sync now (on a rolling upgrade, while they run different releases).
        var expectCaughtUp: String?
    }

    /// What the next release's policy set adds to the one the testnet starts with (a rolling upgrade).
    package struct NextPolicies: Codable {
        /// Column lines (`name type [policy]`) added at the end of existing tables.
        var addColumns: [String: [String]]?
        /// Whole table declarations added.
        var addTables: [String]?
    }

    package var name: String
    /// Seconds of traffic.
    package var duration: Double
    /// Seconds allowed, after healing everything, to converge.
    package var settleTimeout: Double?
    package var nodes: [Node]
    package var links: [[String]]
    package var faults: [Fault]?
    /// Nodes whose certificate must have been renewed by the end of the run.
    package var expectRenewed: [String]?
    /// The next release's policies, for `upgrade` faults.
    package var nextPolicies: NextPolicies?

    /// The fault script with repeated skews written out, in time order.
    var script: [Fault] {
        (faults ?? []).flatMap { fault -> [Fault] in
            guard fault.skew != nil, let count = fault.repeat, count > 1 else { return [fault] }
            return (0..<count).map { step in
                var one = fault
                one.at = fault.at + Double(step) * (fault.every ?? 1)
                one.seconds = (fault.seconds ?? 0) * Double(step + 1)
                one.repeat = nil
                return one
            }
        }.sorted { $0.at < $1.at }
    }

    package static func load(_ path: String) throws -> TestnetTopology {
        guard let data = FileManager.default.contents(atPath: path) else { throw NodeSetupError("cannot read \(path)") }
        let topology: TestnetTopology
        do {
            topology = try JSONDecoder().decode(TestnetTopology.self, from: data)
        } catch {
            throw NodeSetupError("\(path) is not a valid testnet file: \(error)")
        }
        try topology.validate()
        return topology
    }

    package func validate() throws {
        let names = Set(nodes.map(\.name))
        guard names.count == nodes.count else { throw NodeSetupError("node names must be unique") }
        guard nodes.filter({ $0.role == "central" }).count == 1 else { throw NodeSetupError("exactly one node must be central") }
        for name in expectRenewed ?? [] where !names.contains(name) { throw NodeSetupError("expectRenewed names '\(name)', which is not declared") }
        for node in nodes where node.validDays.map({ !(1...3650).contains($0) }) ?? false {
            throw NodeSetupError("validDays of '\(node.name)' must be 1 to 3650")
        }
        for link in links where link.count != 2 || !names.isSuperset(of: link) {
            throw NodeSetupError("link \(link) must name two declared nodes")
        }
        for fault in faults ?? [] {
            for pair in [fault.partition, fault.heal, fault.delay, fault.loss].compactMap({ $0 }) {
                guard links.contains(pair) else { throw NodeSetupError("fault names link \(pair), which is not declared") }
            }
            if fault.upgrade != nil, nextPolicies == nil { throw NodeSetupError("an upgrade fault needs nextPolicies") }
            for node in [fault.kill, fault.restart, fault.skew, fault.backup, fault.restore, fault.upgrade, fault.expectCaughtUp].compactMap({ $0 }) where !names.contains(node) {
                throw NodeSetupError("fault names node '\(node)', which is not declared")
            }
            if let count = fault.repeat, !(1...10_000).contains(count) || fault.skew == nil || !((fault.every ?? 1) > 0) {
                throw NodeSetupError("repeat (1 to 10000) goes with skew and a positive every")
            }
            if let node = fault.restore, !(faults ?? []).contains(where: { $0.backup == node && $0.at < fault.at }) {
                throw NodeSetupError("fault restores '\(node)' at \(fault.at) s, before any backup of it")
            }
        }
    }

    package init(name: String, duration: Double, settleTimeout: Double?, nodes: [Node], links: [[String]], faults: [Fault]?, expectRenewed: [String]? = nil) {
        self.expectRenewed = expectRenewed
        self.name = name
        self.duration = duration
        self.settleTimeout = settleTimeout
        self.nodes = nodes
        self.links = links
        self.faults = faults
    }
}
