import Foundation
import GRDB
import TestSupport
import Testing

@testable import Replica

/// Values bound straight to SQLite (`Statement.runBinding`) arrive exactly as written, whichever
/// path writes them: a local insert, a merged fresh row, a replaced row.
@Suite("Direct binding: every kind of value survives the replica's own statements")
struct DirectBindingTests {
    static let values: [(key: String, body: String?, score: Int?)] = [
        ("plain", "病房干净 🏥", 5),
        ("empty", "", 0),
        ("negative", "  leading and trailing  ", -1),
        ("nulls", nil, nil),
        ("large", String(repeating: "满意", count: 20_000), Int(Int64.max)),
    ]

    @Test func localInsertsMergesAndUpdatesKeepEveryValue() throws {
        let a = try makeReplica(1), b = try makeReplica(2)
        for value in Self.values {
            try a.write { try $0.insert(into: "item", values: ["name": value.body, "visits": value.score], id: value.key) }
        }
        let report = try b.apply(ChangeBatch(decoding: try a.changes(since: VersionVector()).0.encoded()))
        #expect(report.rowsChanged == Self.values.count, "every fresh row is reported inserted")
        for replica in [a, b] {
            for value in Self.values {
                #expect(try Self.name(replica, value.key) == value.body.map { $0.databaseValue } ?? .null)
            }
        }
        try a.write { try $0.update("item", id: "empty", set: ["name": "no longer empty"]) }
        try sync(a, into: b)
        #expect(try Self.name(b, "empty") == "no longer empty".databaseValue)
        #expect(try a.canonicalDump() == b.canonicalDump())
    }

    /// SQLite's C strings end at NUL: neither a row id nor a text value may hold one, locally or from a peer.
    @Test func nulInARowIdOrTextIsRefusedLocallyAndFromPeers() throws {
        let a = try makeReplica(1), b = try makeReplica(2)
        #expect(throws: ReplicaError.self) { try a.write { try $0.insert(into: "item", values: ["name": "x"], id: "a\u{0}b") } }
        #expect(throws: ReplicaError.self) { try a.write { try $0.insert(into: "item", values: ["name": "a\u{0}b"], id: "k") } }
        var rogue = ChainWriter(authority: SharedSecretTrust(nodeID: NodeID(3)), policies: testPolicies)
        rogue.append(body: CommitCodec.encode([RowDelta(table: "entry", key: "k\u{0}x", body: .columns(Self.entry("fine")), isInsert: true)]))
        var other = ChainWriter(authority: SharedSecretTrust(nodeID: NodeID(4)), policies: testPolicies)
        other.append(body: CommitCodec.encode([RowDelta(table: "entry", key: "k", body: .columns(Self.entry("a\u{0}b")), isInsert: true)]))
        let report = try b.apply(ChangeBatch(segments: [rogue.segment(), other.segment()]))
        #expect(report.commitsApplied == 0)
        #expect(Set(report.quarantined.map(\.origin)) == [NodeID(3), NodeID(4)])
    }

    static func entry(_ body: String) -> WrittenColumns {
        var columns = WrittenColumns(width: 2)
        let stamp = Stamp(hlc: HLC(milliseconds: 1_780_000_000_000, counter: 0), origin: NodeID(3), seq: 1)
        columns[0] = ColumnState(value: body.databaseValue, meta: .register(stamp))
        columns[1] = ColumnState(value: 1.databaseValue, meta: .register(stamp))
        return columns
    }

    static func name(_ replica: Replica, _ key: String) throws -> DatabaseValue? {
        try replica.reader.read { db in try DatabaseValue.fetchOne(db, sql: "SELECT name FROM item WHERE id = ?", arguments: [key]) }
    }

    /// Rows bound with their metadata blobs arrive whole; values that are not whole rows, one per
    /// blob, are refused with an error, never a trap.
    @Test func rowsWithTheirBlobsAreBoundWholeAndMismatchedOnesRefused() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (k TEXT, v INTEGER, m BLOB)")
            let insert = try db.makeStatement(sql: "INSERT INTO t VALUES (?, ?, ?), (?, ?, ?)")
            try insert.runBinding(["a".databaseValue, 1.databaseValue, "b".databaseValue, 2.databaseValue], rowsOf: 2, thenBlobs: [[0x01, 0x02], []])
            let rows = try Row.fetchAll(db, sql: "SELECT k, v, hex(m) AS m FROM t ORDER BY k")
            #expect(rows.map { [$0["k"] as String, "\($0["v"] as Int)", $0["m"] as String] } == [["a", "1", "0102"], ["b", "2", ""]])
            #expect(throws: ReplicaError.self) { try insert.runBinding(["a".databaseValue, 1.databaseValue, "b".databaseValue], rowsOf: 2, thenBlobs: [[], []]) }
            #expect(throws: ReplicaError.self) { try insert.runBinding(["a".databaseValue], rowsOf: 0, thenBlobs: [[]]) }
        }
    }
}
