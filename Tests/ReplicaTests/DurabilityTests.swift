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
    /// connection of its own): SQLite's automatic checkpoint is off on the writer, yet a log past
    /// 1,000 pages reaches the file without any explicit checkpoint, and nothing is lost; for an
    /// encrypted replica too (the checkpointer opens the file through the encrypting layer).
    @Test(arguments: [false, true]) func theLogReachesTheFileWithoutTheWriterCheckpointing(encrypted: Bool) async throws {
        let file = TemporaryDatabase("checkpointed")
        defer { file.remove() }
        var configuration = ReplicaConfiguration(policies: testPolicies)
        if encrypted { configuration.encryption = try ReplicaEncryption(dataKey: [UInt8](repeating: 7, count: 32)) }
        do {
            let replica = try Replica.open(at: file.path, configuration: configuration)
            let automaticCheckpoint = try await replica.writer.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") }
            #expect(automaticCheckpoint == 0, "SQLite's automatic checkpoint is off on the writer")
            try writeLogPages(to: replica)
            var fileBytes = 0
            for _ in 0..<100 where fileBytes < 2 << 20 {
                try await Task.sleep(for: .milliseconds(50))
                fileBytes = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
            }
            #expect(fileBytes >= 2 << 20, "the log's pages were copied into the file")
        }
        let reopened = try Replica.open(at: file.path, configuration: configuration)
        #expect(try reopened.statistics().rows["entry"] == 1_600)
    }

    /// When a replica goes, no connection of its stays on the file: the checkpointer's closes
    /// with it (a queued checkpoint does not open the file again), so the pool's last connection
    /// folds the log in and removes it.
    @Test func aReplicaThatGoesLeavesNoConnectionOnItsFile() throws {
        let file = TemporaryDatabase("closed")
        defer { file.remove() }
        for round in 0..<3 {
            do {
                let replica = try Replica.open(at: file.path, configuration: ReplicaConfiguration(policies: testPolicies))
                try writeLogPages(to: replica)
            }
            #expect(!FileManager.default.fileExists(atPath: file.path + "-wal"), "round \(round): the log was removed by the last connection")
        }
        let reopened = try Replica.open(at: file.path, configuration: ReplicaConfiguration(policies: testPolicies))
        #expect(try reopened.statistics().rows["entry"] == 3 * 1_600)
    }

    /// 40 commits of 40 rows of 800 characters: past the checkpointer's trigger (1,000 pages).
    private func writeLogPages(to replica: Replica) throws {
        let body = String(repeating: "随访", count: 400)
        for commit in 0..<40 {
            _ = try replica.write { tx in
                for row in 0..<40 { _ = try tx.insert(into: "entry", values: ["body": "\(body)\(commit)-\(row)", "score": row]) }
            }
        }
    }
}
