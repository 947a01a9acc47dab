import Foundation
import GRDB
import TestSupport
import Testing

@testable import Replica

/// An acknowledged commit must survive a power loss, not only a crash of the process: the replica's
/// writer fsyncs the WAL on every commit (`synchronous=FULL`). GRDB's pool sets `NORMAL` when it turns
/// WAL on, after the connection's own preparation, so the replica sets FULL once more afterwards.
@Suite("Durability")
struct DurabilityTests {
    @Test func theWriterConnectionSyncsEveryCommit() throws {
        let file = TemporaryDatabase("durable")
        defer { file.remove() }
        let path = file.path
        let replica = try Replica.open(at: path, configuration: ReplicaConfiguration(policies: testPolicies))
        let (journal, synchronous) = try replica.writer.writeWithoutTransaction { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
        }
        #expect(journal == "wal")
        #expect(synchronous == 2, "synchronous must be FULL (2) on the connection that commits")
        // Still so after writes through the replica's API.
        _ = try replica.write { tx in try tx.insert(into: "entry", values: ["body": "x", "score": 1]) }
        #expect(try replica.writer.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == 2)
    }

    /// The writer's commits no longer copy the log into the file (``WALCheckpointer`` does, on a
    /// connection of its own): a log past 1,000 pages reaches the file without any explicit
    /// checkpoint, long before the writer's own bound (16,000 pages) would, and nothing is lost.
    @Test func theLogReachesTheFileWithoutTheWriterCheckpointing() async throws {
        let file = TemporaryDatabase("checkpointed")
        defer { file.remove() }
        let body = String(repeating: "随访", count: 400)
        do {
            let replica = try Replica.open(at: file.path, configuration: ReplicaConfiguration(policies: testPolicies))
            for commit in 0..<40 {
                _ = try await replica.write { tx in
                    for row in 0..<40 { _ = try tx.insert(into: "entry", values: ["body": "\(body)\(commit)-\(row)", "score": row]) }
                }
            }
            var fileBytes = 0
            for _ in 0..<100 where fileBytes < 2 << 20 {
                try await Task.sleep(for: .milliseconds(50))
                fileBytes = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
            }
            #expect(fileBytes >= 2 << 20, "the log's pages were copied into the file")
        }
        let reopened = try Replica.open(at: file.path, configuration: ReplicaConfiguration(policies: testPolicies))
        #expect(try reopened.statistics().rows["entry"] == 1_600)
    }
}
