import Foundation
import GRDB
import TestSupport
import Testing

@testable import Replica

/// Randomised, seeded: central admits and transfers, two ward nodes edit, admit and transfer out
/// their own wards' rows, while pages travel between every pair (relays included) shuffled,
/// duplicated or cut. Honest ward work must never be quarantined or lost, whatever order the owner
/// writes it names arrive in, and every replica ends identical.
@Suite("Ward ownership under random order: honest wards converge and are never quarantined")
struct WardConvergenceTests {
    static let seeds: [UInt64] = {
        if let pinned = ProcessInfo.processInfo.environment["SUIFANG_SEED"].flatMap(UInt64.init) { return [pinned] }
        return Array(1...16)
    }()

    /// Node 1 central, nodes 2 and 3 ward nodes (W-1, W-2), node 4 a call center.
    static func trust(_ node: UInt64) -> SharedSecretTrust {
        SharedSecretTrust(
            nodeID: NodeID(node), roles: [NodeID(2): .ward, NodeID(3): .ward, NodeID(4): .callcenter],
            wards: [NodeID(2): ["W-1"], NodeID(3): ["W-2"]])
    }

    struct WardWorld {
        var random: SplitMix64
        let clocks: [TestClock]
        let replicas: [Replica]
        /// Every successful local write of `stay.note`: key → (stamp, value).
        var notes: [String: [(stamp: Stamp, value: String)]] = [:]

        init(seed: UInt64) throws {
            random = SplitMix64(seed: seed)
            let clocks = (0..<4).map { TestClock(1_780_000_000_000 + UInt64($0) * 41) }
            self.clocks = clocks
            replicas = try (1...4).map { node in
                var configuration = ReplicaConfiguration(
                    nodeID: NodeID(UInt64(node)), policies: WardOwnershipTests.policies,
                    wallClock: clocks[node - 1], rowIDSeed: UInt64(node))
                configuration.authority = WardConvergenceTests.trust(UInt64(node))
                return try Replica.inMemory(configuration: configuration)
            }
        }

        mutating func pick(_ count: Int) -> Int { Int(random.next() % UInt64(count)) }

        mutating func randomOperation() throws {
            let node = pick(replicas.count)
            let replica = replicas[node]
            clocks[node].advance(by: UInt64(1 + pick(40)))
            let key = "S\(pick(8))"
            let ward = ["W-1", "W-2", "W-9"][pick(3)]
            do {
                switch pick(5) {
                case 0:
                    try replica.write { try $0.insert(into: "stay", values: ["wardId": ward, "note": "admitted by \(node + 1)"], id: key) }
                    try recordNote(replica, key)
                case 1:
                    try replica.write { try $0.update("stay", id: key, set: ["wardId": ward]) }  // a transfer
                default:
                    let note = "note \(pick(1000)) by \(node + 1)"
                    try replica.write { try $0.update("stay", id: key, set: ["note": note]) }
                    try recordNote(replica, key)
                }
            } catch let error as ReplicaError {
                let expected: Set<ReplicaError.Code> = [.duplicateKey, .rowNotFound, .notAuthorized]
                #expect(expected.contains(error.code), "unexpected refusal \(error)")
            }
        }

        private mutating func recordNote(_ replica: Replica, _ key: String) throws {
            let state = try replica.reader.read { db in
                try RowStore(db: db, gate: replica.gate, buriedTables: replica.buriedTables).load(replica.tables["stay"]!, key: key)
            }
            guard let state, let note = String.fromDatabaseValue(state.columns[1].value), case .register(let stamp) = state.columns[1].meta else { return }
            notes[key, default: []].append((stamp, note))
        }

        mutating func randomExchange() throws {
            let source = replicas[pick(replicas.count)], target = replicas[pick(replicas.count)]
            guard source !== target else { return }
            for page in try randomDelivery(from: source, to: target, maxPage: 4, using: &random) {
                let report = try target.apply(page)
                #expect(report.quarantined.isEmpty, "an honest node was quarantined: \(report.quarantined.map(\.rule))")
            }
        }
    }

    @Test("ward changes judged on the owner writes they name converge, whatever the order", arguments: seeds)
    func convergence(seed: UInt64) throws {
        var world = try WardWorld(seed: seed)
        for _ in 0..<8 {
            for _ in 0..<20 { try world.randomOperation() }
            for _ in 0..<8 { try world.randomExchange() }
        }
        for _ in 0..<world.replicas.count {
            for source in world.replicas {
                for target in world.replicas where source !== target { try sync(source, into: target, pageSize: 3) }
            }
        }
        let dumps = try world.replicas.map { try $0.canonicalDump() }
        for (index, dump) in dumps.enumerated().dropFirst() {
            #expect(dump == dumps[0], "replica \(index + 1) differs from replica 1")
        }
        #expect(Set(try world.replicas.map { try $0.versionVector() }).count == 1)
        for replica in world.replicas { #expect(try replica.quarantines().isEmpty) }
        for (key, writes) in world.notes {
            let winner = writes.max { ColumnMerge.prefers(.lastWriterWins, ($1.value.databaseValue, $1.stamp), over: ($0.value.databaseValue, $0.stamp)) }!
            #expect(try value(world.replicas[0], "stay", key, "note") == winner.value.databaseValue, "lost the last note of \(key)")
        }
    }
}
