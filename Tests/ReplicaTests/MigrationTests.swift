import GRDB
import TestSupport
import Testing

@testable import Replica

@Suite("Schema migrations")
struct MigrationTests {
    @Test func aReplicaWrittenBeforeSignedChainsIsRefusedNotSilentlyRenumbered() throws {
        let file = TemporaryDatabase("v1")
        defer { file.remove() }
        let queue = try DatabaseQueue(path: file.path)
        try ReplicaSchema.migrator().migrate(queue, upTo: "v1-replica-metadata")
        try queue.write { db in
            try db.execute(sql: "INSERT INTO _sf_version (origin, seq) VALUES (7, 12)")
        }
        try queue.close()
        let error = #expect(throws: ReplicaError.self) {
            try Replica.open(at: file.path, configuration: ReplicaConfiguration(policies: testPolicies))
        }
        #expect(error?.code == .schemaMismatch)
        // A v1 file that never held anything upgrades.
        let empty = TemporaryDatabase("v1-empty")
        defer { empty.remove() }
        let emptyQueue = try DatabaseQueue(path: empty.path)
        try ReplicaSchema.migrator().migrate(emptyQueue, upTo: "v1-replica-metadata")
        try emptyQueue.close()
        _ = try Replica.open(at: empty.path, configuration: ReplicaConfiguration(policies: testPolicies))
    }
}
