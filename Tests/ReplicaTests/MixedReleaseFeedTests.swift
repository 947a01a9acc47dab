import Foundation
import GRDB
import TestSupport
import Testing

@testable import Replica

/// The scoped feed between central and a ward node on two releases: it carries what both declare,
/// the ward keeps what only it declares, and the ward's whole scope is sent again once both
/// declare more.
@Suite("Mixed releases: the scoped feed")
struct MixedReleaseFeedTests {
    static let newer = try! PolicySet(
        parsing: ScopedFeedTests.policies.canonicalText.replacingOccurrences(of: "column score integer", with: "column score integer\ncolumn comment text"),
        file: "newer.policy")
    let clock = TestClock(date: TestClock.hospitalMorning)
    let wardsOf = [NodeID(2): Set(["5A"])]

    func open(_ node: UInt64, _ policies: PolicySet, at path: String? = nil) throws -> Replica {
        var configuration = ReplicaConfiguration(nodeID: NodeID(node), policies: policies, wallClock: clock, rowIDSeed: node)
        configuration.authority = SharedSecretTrust(nodeID: NodeID(node), roles: [NodeID(2): .ward], wards: wardsOf)
        return try path.map { try Replica.open(at: $0, configuration: configuration) } ?? Replica.inMemory(configuration: configuration)
    }

    func up(_ ward: Replica, to central: Replica) throws {
        let page = try ward.changes(since: central.versionVector(), maxChanges: 1000)
        _ = try central.apply(ChangeBatch(decoding: page.batch.encoded()))
    }

    /// Central's feed down to the ward over the wire form both ends agree on.
    func down(_ ward: Replica, from central: Replica) async throws {
        let shared = try SharedSchema(central.policies, ward.policies)
        if try ward.adoptFeedSchema(shared.fingerprint) { Issue.record("not expected here") }
        try await feed(ward, from: central, shared)
    }

    func feed(_ ward: Replica, from central: Replica, _ shared: SharedSchema) async throws {
        var cursor: FeedCursor?
        let since = try ward.feedCursor()
        repeat {
            let page = try central.feed(for: ward.ownScope!, since: since, after: cursor, maxRows: 3)
            cursor = page.next
            let bytes = try page.feed.encoded(for: shared, policies: central.policies)
            _ = try await ward.applyFeed(try RowFeed(decoding: bytes, policies: ward.policies, shared: shared))
        } while cursor != nil
    }

    func comment(_ replica: Replica, _ id: String) throws -> String? {
        try replica.reader.read { db in try String.fetchOne(db, sql: "SELECT comment FROM answer WHERE id = ?", arguments: [id]) }
    }

    @Test func aNewerWardKeepsWhatOnlyItDeclaresAndGetsItsScopeAgainOnceCentralIsUpgraded() async throws {
        let file = TemporaryDatabase("mixed-feed-central")
        defer { file.remove() }
        var central: Replica? = try open(1, ScopedFeedTests.policies, at: file.path)
        let ward = try open(2, Self.newer)
        try await central!.write { try $0.insert(into: "ward", values: ["name": "5A"], id: "5A") }
        _ = try await central!.write { try $0.insert(into: "stay", values: ["patientId": "P1", "wardId": "5A"]) }
        try await down(ward, from: central!)
        let answer = try await ward.write { try $0.insert(into: "answer", values: ["patientId": "P1", "wardId": "5A", "score": 9, "comment": "护士很好"]) }
        try up(ward, to: central!)
        try await down(ward, from: central!)
        #expect(try comment(ward, answer) == "护士很好", "the feed from the older central leaves the ward's own column alone")
        #expect(try await central!.reader.read { db in try Int.fetchOne(db, sql: "SELECT score FROM answer") } == 9)
        // Central is upgraded: it merges the comment it read past, and the ward asks for its whole scope again.
        central = nil
        let upgraded = try open(1, Self.newer, at: file.path)
        #expect(try comment(upgraded, answer) == "护士很好")
        let shared = try SharedSchema(upgraded.policies, ward.policies)
        #expect(try ward.adoptFeedSchema(shared.fingerprint), "what both declare grew: the cursor starts over")
        try await feed(ward, from: upgraded, shared)
        let (mine, theirs) = (try ward.scopedDump(for: nil), try upgraded.scopedDump(for: ward.ownScope!))
        #expect(mine == theirs, "\(Set(mine.lines).symmetricDifference(Set(theirs.lines)).sorted())")
    }

    @Test func anOlderWardTakesTheFeedOfANewerCentral() async throws {
        let central = try open(1, Self.newer)
        let ward = try open(2, ScopedFeedTests.policies)
        try await central.write { try $0.insert(into: "ward", values: ["name": "5A"], id: "5A") }
        _ = try await central.write { try $0.insert(into: "stay", values: ["patientId": "P1", "wardId": "5A"]) }
        let answer = try await central.write { try $0.insert(into: "answer", values: ["patientId": "P1", "wardId": "5A", "score": 7, "comment": "只有新版本有"]) }
        try await down(ward, from: central)
        #expect(try await ward.reader.read { db in try Int.fetchOne(db, sql: "SELECT score FROM answer WHERE id = ?", arguments: [answer]) } == 7)
        // A page of the whole width is refused by the older ward, not misread.
        let page = try central.feed(for: ward.ownScope!, since: VersionVector(), maxRows: 100)
        #expect(throws: MalformedDataError.self) { try RowFeed(decoding: page.feed.encoded(), policies: ward.policies, shared: nil) }
    }
}
