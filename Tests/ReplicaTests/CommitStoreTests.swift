import Foundation
import GRDB
import TestSupport
import Testing

@testable import Replica

/// Commits packed and compressed after a while: the chain, its hashes and what peers are sent stay
/// exactly as if every commit were stored on its own.
@Suite struct CommitStoreTests {
    /// Every chain hash of `origin` up to `upTo`, as the store answers it.
    private func hashes(_ replica: Replica, _ origin: NodeID, upTo: UInt64) throws -> [[UInt8]] {
        try replica.reader.read { db in try (1...upTo).map { try replica.chainHash(db, origin: origin, seq: $0) } }
    }

    private func counts(_ replica: Replica) throws -> (loose: Int, packs: Int) {
        try replica.reader.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM _sf_commit")!, try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM _sf_commit_pack")!)
        }
    }

    private func writeEntries(_ replica: Replica, _ count: Int, prefix: String) throws {
        for index in 0..<count {
            try replica.write { tx in try tx.insert(into: "entry", values: ["body": "\(prefix) \(index)", "score": index], id: "\(prefix)-\(index)") }
        }
    }

    @Test func localCommitsPackLaterWithTheSameHashes() throws {
        let a = try makeReplica(1)
        try writeEntries(a, 300, prefix: "a")
        #expect(try counts(a).packs == 0, "a local write leaves packing for later")
        let before = try hashes(a, NodeID(1), upTo: 300)
        try a.packCommits()
        #expect(try counts(a) == (loose: 300 - 2 * CommitStore.packCommits, packs: 2))
        #expect(try hashes(a, NodeID(1), upTo: 300) == before)
        #expect(try a.statistics().logEntries == 300)
        // More writes continue the chain from a packed head.
        try writeEntries(a, 1, prefix: "b")
        #expect(try hashes(a, NodeID(1), upTo: 300) == before)
    }

    @Test func packedCommitsSyncAndRelayFromAnyPoint() throws {
        let a = try makeReplica(1), b = try makeReplica(2), c = try makeReplica(3)
        try writeEntries(a, 333, prefix: "a")
        try a.packCommits()
        // B receives all of it in pages and packs as it merges; C first gets a part that ends inside a pack.
        try sync(a, into: b, pageSize: 50)
        #expect(try counts(b).packs == 2)
        let (firstPage, _) = try a.changes(since: VersionVector(), maxChanges: 150)
        try c.apply(ChangeBatch(decoding: firstPage.encoded()))
        #expect(try c.versionVector()[NodeID(1)] == 150)
        try sync(b, into: c, pageSize: 40)
        #expect(try c.versionVector()[NodeID(1)] == 333)
        #expect(try hashes(c, NodeID(1), upTo: 333) == hashes(a, NodeID(1), upTo: 333))
        let count = try c.reader.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM entry") }
        #expect(count == 333)
    }

    @Test func aCorruptPackIsReportedNotServed() throws {
        let a = try makeReplica(1), b = try makeReplica(2)
        try writeEntries(a, 200, prefix: "a")
        try a.packCommits()
        try a.writer.writeWithoutTransaction { db in
            try db.execute(sql: "UPDATE _sf_commit_pack SET bodies = substr(bodies, 1, length(bodies) - 9) || x'000000000000000000'")
        }
        #expect { try a.changes(since: VersionVector()) } throws: { ($0 as? ReplicaError)?.code == .corruptMetadata }
        #expect(try b.versionVector()[NodeID(1)] == 0)
    }

    private func looseBytes(_ replica: Replica) throws -> Int {
        try replica.reader.read { db in try Int.fetchOne(db, sql: "SELECT coalesce(sum(length(body)), 0) FROM _sf_commit")! }
    }

    /// Large commits (a ward's 500-survey commits are ~100 KB) pack by bytes, not only by count: a
    /// merge that waited for 128 of them once packed a 12 MB backlog in one transaction and held
    /// every live commit behind it for 200 ms.
    @Test func largeCommitsPackByBytesAsTheyMergeAndOnePackPerCall() throws {
        let a = try makeReplica(1), b = try makeReplica(2)
        let body = String(repeating: "住院满意度调查 ", count: 60_000 / 22)
        for index in 0..<20 {
            try a.write { tx in try tx.insert(into: "entry", values: ["body": "\(index) \(body)", "score": index], id: "large-\(index)") }
        }
        for page in 1...20 {
            let (batch, _) = try a.changes(since: try b.versionVector(), maxChanges: 1)
            try b.apply(ChangeBatch(decoding: batch.encoded()))
            #expect(try looseBytes(b) < CommitStore.packBytes, "after merge \(page) the loose commits stay under one pack's worth")
        }
        #expect(try counts(b).packs >= 4)
        // Locally written large commits: one call packs one pack, not the whole backlog.
        #expect(try counts(a).packs == 0)
        let made = try a.writer.write { db in try CommitStore(db: db).packLoose(NodeID(1)) }
        #expect(made)
        #expect(try counts(a).packs == 1)
        try a.packCommits()
        #expect(try looseBytes(a) < CommitStore.packBytes)
        #expect(try hashes(a, NodeID(1), upTo: 20) == hashes(b, NodeID(1), upTo: 20))
    }
}
