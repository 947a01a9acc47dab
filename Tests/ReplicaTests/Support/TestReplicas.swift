import Foundation
import GRDB
import Synchronization
import TestSupport

@testable import Replica

/// Every policy kind on one table, plus an append-only table.
let testPolicyText = """
    # Every column policy kind.
    table item
      key id
      column name text
      column claimedBy text first-writer-wins
      column visits integer max
      column firstSeen integer min
      column status text lifecycle registered accepted investigating handled closed
      column phone text keep-both
      column tags text add-wins-set

    table entry append-only
      key id
      column body text
      column score integer
    """

let testPolicies: PolicySet = try! PolicySet(parsing: testPolicyText, file: "test.policy")

func makeReplica(_ node: UInt64, clock: TestClock = TestClock(), skew: UInt64 = 5 * 60 * 1000) throws -> Replica {
    try Replica.inMemory(
        configuration: ReplicaConfiguration(
            nodeID: NodeID(node), policies: testPolicies, wallClock: clock, maximumForwardSkew: skew, rowIDSeed: node))
}

/// Runs anti-entropy from `source` into `target` until nothing is missing, in pages.
@discardableResult
func sync(_ source: Replica, into target: Replica, pageSize: Int = 1000) throws -> Int {
    var cursor: ChangeCursor?
    var pages = 0
    let since = try target.versionVector()
    repeat {
        let (batch, next) = try source.changes(since: since, after: cursor, maxChanges: pageSize)
        try target.apply(ChangeBatch(decoding: batch.encoded()))
        cursor = next
        pages += 1
    } while cursor != nil
    return pages
}

/// What `target` lacks from `source`, in pages of 1…`maxPage` changes that arrive shuffled,
/// partly duplicated, or cut short (the link dropped mid-sync), as a random schedule draws them.
func randomDelivery(from source: Replica, to target: Replica, maxPage: Int, using random: inout SplitMix64) throws -> [ChangeBatch] {
    func pick(_ count: Int) -> Int { Int(random.next() % UInt64(count)) }
    var pages: [ChangeBatch] = []
    var cursor: ChangeCursor?
    let since = try target.versionVector()
    repeat {
        let page = try source.changes(since: since, after: cursor, maxChanges: 1 + pick(maxPage))
        pages.append(page.batch)
        cursor = page.next
    } while cursor != nil
    switch pick(4) {
    case 0: pages.shuffle(using: &random)
    case 1: pages += pages.prefix(pick(pages.count + 1))
    case 2: pages = Array(pages.prefix(pick(pages.count + 1)))
    default: break
    }
    return try pages.map { try ChangeBatch(decoding: $0.encoded()) }
}

func value(_ replica: Replica, _ table: String, _ id: String, _ column: String) throws -> DatabaseValue? {
    try replica.reader.read { db in
        try DatabaseValue.fetchOne(db, sql: "SELECT \(column) FROM \(table) WHERE id = ?", arguments: [id])
    }
}
