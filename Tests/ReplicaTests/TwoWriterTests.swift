import Foundation
import GRDB
import TestSupport
import Testing

@testable import Replica

/// Two processes writing one replica file (the daemon and a CLI command, say): SQLite serialises
/// their transactions, and each commit must still get its own sequence number.
@Suite("Two writers on one file")
struct TwoWriterTests {
    @Test func twoConnectionsToOneReplicaNeverReuseASequenceNumber() throws {
        let file = TemporaryDatabase("two-writers")
        defer { file.remove() }
        let path = file.path
        let configuration = ReplicaConfiguration(nodeID: NodeID(0x77), policies: testPolicies)
        let daemon = try Replica.open(at: path, configuration: configuration)
        let tool = try Replica.open(at: path, configuration: configuration)
        var written: [String] = []
        for index in 0..<20 {
            let writer = index % 3 == 0 ? tool : daemon
            written.append(try writer.write { tx in try tx.insert(into: "entry", values: ["body": "entry \(index)", "score": index]) })
        }
        // Every commit has its own number: the version vector counts all 20 of them.
        #expect(try daemon.versionVector()[NodeID(0x77)] == 20)
        #expect(try tool.versionVector()[NodeID(0x77)] == 20)
        #expect(try daemon.statistics().logEntries == 20)
        // A peer that syncs from the daemon while the tool writes gets every row, none shadowed by a reused number.
        let peer = try makeReplica(0x88)
        try sync(daemon, into: peer)
        _ = try tool.write { tx in try tx.insert(into: "entry", values: ["body": "late", "score": 99]) }
        _ = try daemon.write { tx in try tx.insert(into: "entry", values: ["body": "later", "score": 100]) }
        try sync(daemon, into: peer)
        let rows = try peer.reader.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM entry") }
        #expect(rows == 22)
    }

    @Test func theDaemonNoticesWhatAnotherProcessCommitted() async throws {
        let file = TemporaryDatabase("other-process")
        defer { file.remove() }
        let path = file.path
        let configuration = ReplicaConfiguration(nodeID: NodeID(0x79), policies: testPolicies)
        let daemon = try Replica.open(at: path, configuration: configuration)
        let tool = try Replica.open(at: path, configuration: configuration)
        let events = daemon.events()
        #expect(try daemon.noticeOtherProcesses() == false, "the first look only takes the baseline")
        _ = try await daemon.write { tx in try tx.insert(into: "entry", values: ["body": "own", "score": 1]) }
        #expect(try daemon.noticeOtherProcesses() == false, "its own commits are not another process's")
        _ = try await tool.write { tx in try tx.insert(into: "entry", values: ["body": "cli", "score": 2]) }
        #expect(try daemon.noticeOtherProcesses() == true)
        #expect(try daemon.noticeOtherProcesses() == false, "each commit is noticed once")
        var sources: [ChangeSource] = []
        for await event in events {
            sources.append(event.source)
            if sources.count == 2 { break }
        }
        #expect(sources == [.local, .otherProcess])
    }
}

/// A commit travels whole in one batch; one larger than a peer decodes could never be synced.
@Suite("Commit size")
struct CommitSizeTests {
    @Test func aCommitTooLargeToSyncIsRefusedAndLeavesNothing() throws {
        var configuration = ReplicaConfiguration(nodeID: NodeID(0x66), policies: testPolicies)
        configuration.maximumRowsPerCommit = 10
        let replica = try Replica.inMemory(configuration: configuration)
        #expect(configuration.maximumRowsPerCommit <= ChangeBatch.Limits().maxChanges)
        #expect(
            ReplicaConfiguration(policies: testPolicies).maximumRowsPerCommit == ChangeBatch.Limits().maxChanges,
            "by default a commit may be as large as a peer decodes, no larger")
        let refused = #expect(throws: ReplicaError.self) {
            try replica.write { tx in
                for index in 0..<11 { try tx.insert(into: "entry", values: ["body": "row \(index)", "score": index]) }
            }
        }
        #expect(refused?.code == .commitTooLarge && refused?.message.contains("11") == true)
        #expect(try replica.reader.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM entry") } == 0)
        #expect(try replica.versionVector()[NodeID(0x66)] == 0, "the refused commit used no sequence number")
        try replica.write { tx in
            for index in 0..<10 { try tx.insert(into: "entry", values: ["body": "row \(index)", "score": index]) }
        }
        #expect(try replica.versionVector()[NodeID(0x66)] == 1)
        // The largest allowed commit goes to a peer whole, in one page.
        let peer = try makeReplica(0x67)
        #expect(try sync(replica, into: peer, pageSize: 3) == 1)
        #expect(try peer.reader.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM entry") } == 10)
    }
}
