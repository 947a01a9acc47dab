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
}
