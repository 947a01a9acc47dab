import Foundation
import GRDB
import TestSupport
import Testing

@testable import Replica

/// A replica restored from a backup is older than its node was: it must never number a commit
/// its peers already hold. ``ReplicaFile/transferOrigin(to:from:)`` gives it a new id.
@Suite("Restored replicas")
struct RestoredOriginTests {
    let node = NodeID(0x51)

    /// A node with three entries backed up (online, while it stays open), then two more entries
    /// that a peer receives; the backup's file and the peer.
    func backedUpNode(_ name: String) throws -> (backup: ReplicaFile, peer: Replica, cleanup: () -> Void) {
        let live = TemporaryDatabase("\(name)-live"), copy = TemporaryDatabase("\(name)-backup")
        let original = try Replica.open(at: live.path, configuration: ReplicaConfiguration(nodeID: node, policies: testPolicies))
        for index in 0..<3 { _ = try original.write { tx in try tx.insert(into: "entry", values: ["body": "before \(index)", "score": index]) } }
        let backup = ReplicaFile(path: copy.path, encryption: nil)
        #expect(try ReplicaFile(path: live.path, encryption: nil).backup(to: backup) > 0)
        for index in 0..<2 { _ = try original.write { tx in try tx.insert(into: "entry", values: ["body": "after \(index)", "score": index]) } }
        let peer = try makeReplica(0x52)
        try sync(original, into: peer)
        #expect(try peer.versionVector()[node] == 5)
        return (
            backup, peer,
            {
                live.remove(); copy.remove()
            }
        )
    }

    func entries(_ replica: Replica) throws -> Set<String> {
        try replica.reader.read { db in Set(try String.fetchAll(db, sql: "SELECT body FROM entry")) }
    }

    @Test func aBackupRestoredUnderItsOldIDLosesItsNewWritesAtThePeer() throws {
        // The mistake this guards against: the restored node numbers its next commit 4, which the
        // peer already holds (another commit): the peer never asks for it.
        let (backup, peer, cleanup) = try backedUpNode("naive")
        defer { cleanup() }
        let restored = try Replica.open(at: backup.path, configuration: ReplicaConfiguration(nodeID: node, policies: testPolicies))
        #expect(try restored.versionVector()[node] == 3)
        _ = try restored.write { tx in try tx.insert(into: "entry", values: ["body": "restored", "score": 9]) }
        try sync(restored, into: peer)
        #expect(try !entries(peer).contains("restored"))
    }

    @Test func aRestoredReplicaWritesUnderANewIDAndGetsItsLostCommitsBack() throws {
        let (backup, peer, cleanup) = try backedUpNode("new-id")
        defer { cleanup() }
        let newID = NodeID(0x53)
        #expect(throws: ReplicaError.self) { try backup.transferOrigin(to: newID, from: SharedSecretTrust(nodeID: NodeID(0x99))) }
        #expect(try backup.transferOrigin(to: newID, from: SharedSecretTrust(nodeID: node)) == node)
        #expect(throws: ReplicaError.self) { try backup.transferOrigin(to: newID, from: SharedSecretTrust(nodeID: node)) }
        let restored = try Replica.open(at: backup.path, configuration: ReplicaConfiguration(nodeID: newID, policies: testPolicies))
        // The old id's commits are another origin's now, the whole chain the backup held.
        #expect(try restored.versionVector() == VersionVector([node: 3]))
        _ = try restored.write { tx in try tx.insert(into: "entry", values: ["body": "restored", "score": 9]) }
        #expect(try restored.versionVector()[newID] == 1)
        try sync(restored, into: peer)
        try sync(peer, into: restored)
        let expected: Set = ["before 0", "before 1", "before 2", "after 0", "after 1", "restored"]
        #expect(try entries(peer) == expected)
        #expect(try entries(restored) == expected)
        #expect(try restored.versionVector() == VersionVector([node: 5, newID: 1]))
        #expect(try restored.canonicalDump() == peer.canonicalDump())
        // Opening it under its old id is refused: the file is the new id's.
        #expect(throws: ReplicaError.self) {
            try Replica.open(at: backup.path, configuration: ReplicaConfiguration(nodeID: node, policies: testPolicies))
        }
    }

    @Test func commitsOnlyTheBackupHeldAreRelayedAfterTheRestore() throws {
        // The node wrote three entries, was backed up and lost its disk before any peer synced:
        // the backup is the only copy of those commits, and the restored node must send them on.
        let live = TemporaryDatabase("only-live"), copy = TemporaryDatabase("only-backup")
        defer { live.remove(); copy.remove() }
        let original = try Replica.open(at: live.path, configuration: ReplicaConfiguration(nodeID: node, policies: testPolicies))
        for index in 0..<3 { _ = try original.write { tx in try tx.insert(into: "entry", values: ["body": "only \(index)", "score": index]) } }
        let backup = ReplicaFile(path: copy.path, encryption: nil)
        _ = try ReplicaFile(path: live.path, encryption: nil).backup(to: backup)
        let peer = try makeReplica(0x52)
        let newID = NodeID(0x53)
        try backup.transferOrigin(to: newID, from: SharedSecretTrust(nodeID: node))
        let restored = try Replica.open(at: backup.path, configuration: ReplicaConfiguration(nodeID: newID, policies: testPolicies))
        try sync(restored, into: peer)
        #expect(try entries(peer) == ["only 0", "only 1", "only 2"])
        #expect(try peer.versionVector()[node] == 3)
        // A third node hears of them through the peer, as a relay: the head signed at the restore travels on.
        let third = try makeReplica(0x54)
        try sync(peer, into: third)
        #expect(try entries(third) == ["only 0", "only 1", "only 2"])
    }

    /// The clock reading a row was written at (rows of `entry` are written whole: the uniform form).
    func writtenAt(_ replica: Replica, _ id: String) throws -> HLC {
        let meta = try replica.reader.read { db in try Data.fetchOne(db, sql: "SELECT _sf_meta FROM entry WHERE id = ?", arguments: [id]) }
        var reader = BinaryReader(Array(try #require(meta)).dropFirst().map { $0 })
        return try RowMetaCodec.readStamp(&reader).hlc
    }

    @Test func aClockSetBackBetweenTwoRunsNeverStampsALaterWriteEarlierNorDoesARestore() throws {
        // Local commits do not store the clock; a node that never merged anything and restarts with
        // its wall clock an hour back must still stamp after its own last write.
        let file = TemporaryDatabase("clock-back")
        defer { file.remove() }
        var replica: Replica? = try Replica.open(
            at: file.path, configuration: ReplicaConfiguration(nodeID: node, policies: testPolicies, wallClock: TestClock(1_780_000_000_000)))
        let first = try replica!.write { tx in try tx.insert(into: "entry", values: ["body": "before", "score": 1]) }
        let firstStamp = try writtenAt(replica!, first)
        replica = nil
        let earlier = TestClock(1_780_000_000_000 - 3_600_000)
        replica = try Replica.open(at: file.path, configuration: ReplicaConfiguration(nodeID: node, policies: testPolicies, wallClock: earlier))
        let second = try replica!.write { tx in try tx.insert(into: "entry", values: ["body": "after", "score": 2]) }
        #expect(try writtenAt(replica!, second) > firstStamp)
        replica = nil
        // Restored under a new id, the node's clock goes on from the old id's last write too.
        let newID = NodeID(0x77)
        try ReplicaFile(path: file.path, encryption: nil).transferOrigin(to: newID, from: SharedSecretTrust(nodeID: node))
        let restored = try Replica.open(at: file.path, configuration: ReplicaConfiguration(nodeID: newID, policies: testPolicies, wallClock: earlier))
        let third = try restored.write { tx in try tx.insert(into: "entry", values: ["body": "restored", "score": 3]) }
        #expect(try writtenAt(restored, third) > writtenAt(restored, second))
    }

    @Test func aBackupNeverWritesOverAFile() throws {
        let live = TemporaryDatabase("overwrite-live"), existing = TemporaryDatabase("overwrite-target")
        defer { live.remove(); existing.remove() }
        let replica = try Replica.open(at: live.path, configuration: ReplicaConfiguration(nodeID: node, policies: testPolicies))
        _ = try replica.write { tx in try tx.insert(into: "entry", values: ["body": "one", "score": 1]) }
        FileManager.default.createFile(atPath: existing.path, contents: Data("keep me".utf8))
        #expect(throws: ReplicaError.self) { try ReplicaFile(path: live.path, encryption: nil).backup(to: ReplicaFile(path: existing.path, encryption: nil)) }
        #expect(FileManager.default.contents(atPath: existing.path) == Data("keep me".utf8))
    }
}
