import Foundation
import GRDB
import TestSupport
import Testing

@testable import Replica

/// The write guard's `CHECK` constraint and triggers (see ``WriteGate``), against the ways SQLite
/// could write a replicated table without evaluating them.
@Suite struct WriteGuardTests {
    /// Two replicated tables of the same shape.
    static let twins = try! PolicySet(
        parsing: """
            table note
              key id
              column body text

            table memo
              key id
              column text text
            """, file: "twins.policy")

    /// SQLite copies rows between tables of equal shape and equal `CHECK`s without evaluating
    /// them (its transfer optimisation); each table's guard names its table, so none is equal.
    @Test func rowsAreNotCopiedBetweenTwoReplicatedTablesOfTheSameShape() throws {
        let file = TemporaryDatabase("guard-twins")
        let replica = try Replica.open(at: file.path, configuration: ReplicaConfiguration(nodeID: NodeID(1), policies: Self.twins))
        _ = try replica.write { tx in try tx.insert(into: "note", values: ["body": "written through the API"]) }
        let refused = #expect(throws: DatabaseError.self) {
            try replica.writer.writeWithoutTransaction { db in try db.execute(sql: "INSERT INTO memo SELECT * FROM note") }
        }
        #expect(refused?.message?.contains(WriteGate.refusal) == true)
        #expect(try replica.statistics().rows["memo"] == 0)
    }

    /// Nor from the same table of another replica's file attached to this one.
    @Test func rowsAreNotCopiedFromAnotherReplicasFile() throws {
        let here = TemporaryDatabase("guard-here"), there = TemporaryDatabase("guard-there")
        do {
            let other = try Replica.open(at: there.path, configuration: ReplicaConfiguration(nodeID: NodeID(2), policies: Self.twins))
            _ = try other.write { tx in try tx.insert(into: "note", values: ["body": "another node's row"]) }
        }
        let replica = try Replica.open(at: here.path, configuration: ReplicaConfiguration(nodeID: NodeID(1), policies: Self.twins))
        let refused = #expect(throws: DatabaseError.self) {
            try replica.writer.writeWithoutTransaction { db in
                try db.execute(sql: "ATTACH DATABASE ? AS other", arguments: [there.path])
                defer { try? db.execute(sql: "DETACH DATABASE other") }
                try db.execute(sql: "INSERT INTO main.note SELECT * FROM other.note")
            }
        }
        #expect(refused?.message?.contains(WriteGate.refusal) == true)
        #expect(try replica.statistics().rows["note"] == 0)
    }

    /// A table created by a release before the `CHECK` keeps a trigger guarding its inserts.
    @Test func aTableFromAnEarlierReleaseKeepsItsInsertsGuarded() throws {
        let file = TemporaryDatabase("guard-earlier")
        let earlier = try DatabaseQueue(path: file.path)
        try earlier.write { db in try db.execute(sql: "CREATE TABLE note (id TEXT PRIMARY KEY NOT NULL, body TEXT, _sf_meta BLOB NOT NULL) WITHOUT ROWID") }
        try earlier.close()
        let replica = try Replica.open(at: file.path, configuration: ReplicaConfiguration(nodeID: NodeID(1), policies: Self.twins))
        let refused = #expect(throws: DatabaseError.self) {
            try replica.writer.writeWithoutTransaction { db in try db.execute(sql: "INSERT INTO note (id, body, _sf_meta) VALUES ('x', 'y', x'01')") }
        }
        #expect(refused?.message?.contains(WriteGate.refusal) == true)
        _ = try replica.write { tx in try tx.insert(into: "note", values: ["body": "written through the API"]) }
        #expect(try replica.statistics().rows["note"] == 1)
        let triggers = try replica.reader.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_schema WHERE type = 'trigger' AND tbl_name IN ('note', 'memo') ORDER BY name")
        }
        #expect(triggers == ["_sf_guard_memo_delete", "_sf_guard_memo_update", "_sf_guard_note_delete", "_sf_guard_note_insert", "_sf_guard_note_update"])
    }

    /// SQLite's own check evaluates every row's `CHECK`; the replica's answers "ok" on its
    /// connections and on a queue without the guard's function.
    @Test func sqlitesCheckOfAReplicaIsOK() throws {
        let file = TemporaryDatabase("guard-check")
        do {
            let replica = try Replica.open(at: file.path, configuration: ReplicaConfiguration(nodeID: NodeID(1), policies: Self.twins))
            for body in ["one", "two"] { _ = try replica.write { tx in try tx.insert(into: "note", values: ["body": body]) } }
            #expect(try replica.reader.read { db in try ReplicaIntegrity.check(db) } == "ok")
            #expect(
                try replica.writer.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA quick_check") } != "ok",
                "the guard answers 'refused' outside the replica's writes")
            #expect(throws: ReplicaError.self, "a connection that can write is refused") {
                try replica.writer.writeWithoutTransaction { db in try ReplicaIntegrity.check(db, quick: true) }
            }
            #expect(throws: DatabaseError.self, "the guard is in force on the writer after that") {
                try replica.writer.writeWithoutTransaction { db in try db.execute(sql: "INSERT INTO note (id, body, _sf_meta) VALUES ('x', 'y', x'01')") }
            }
        }
        let queue = try ReplicaFile(path: file.path, encryption: nil).queue()
        #expect(try queue.read { db in try ReplicaIntegrity.check(db, quick: true) } == "ok")
        #expect(try queue.read { db in try ReplicaIntegrity.check(db) } == "ok")
    }

    /// A file of the release before the `CHECK`: no `CHECK`, triggers calling the guard's function
    /// with no argument. Opened with a column more, its rows' metadata is rewritten (under those
    /// triggers) and its guards are replaced.
    @Test func aFileOfTheReleaseBeforeTheCheckOpensAndGrows() throws {
        let file = TemporaryDatabase("guard-upgrade")
        do {
            let replica = try Replica.open(at: file.path, configuration: ReplicaConfiguration(nodeID: NodeID(1), policies: Self.twins))
            _ = try replica.write { tx in try tx.insert(into: "note", values: ["body": "kept"]) }
        }
        let earlier = try DatabaseQueue(path: file.path)
        try earlier.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA writable_schema = ON")
            try db.execute(
                sql: """
                    UPDATE sqlite_schema SET sql = substr(sql, 1, instr(sql, ', CONSTRAINT') - 1) || ') WITHOUT ROWID'
                    WHERE type = 'table' AND name IN ('note', 'memo')
                    """)
            try db.execute(sql: "PRAGMA writable_schema = OFF")
        }
        try earlier.write { db in
            for table in ["note", "memo"] {
                for event in ["insert", "update", "delete"] {
                    try db.execute(sql: "DROP TRIGGER IF EXISTS _sf_guard_\(table)_\(event)")
                    try db.execute(
                        sql: """
                            CREATE TRIGGER _sf_guard_\(table)_\(event) BEFORE \(event.uppercased()) ON \(table)
                            WHEN sf_replica_writing() = 0 BEGIN SELECT RAISE(ABORT, 'replicated table: write through the Replica API'); END
                            """)
                }
            }
        }
        try earlier.close()
        let grown = try PolicySet(
            parsing: """
                table note
                  key id
                  column body text
                  column mood text

                table memo
                  key id
                  column text text
                """, file: "grown.policy")
        let replica = try Replica.open(at: file.path, configuration: ReplicaConfiguration(nodeID: NodeID(1), policies: grown))
        #expect(try replica.statistics().rows["note"] == 1)
        #expect(throws: DatabaseError.self) {
            try replica.writer.writeWithoutTransaction { db in try db.execute(sql: "INSERT INTO note (id, body, _sf_meta) VALUES ('x', 'y', x'01')") }
        }
        _ = try replica.write { tx in try tx.insert(into: "note", values: ["body": "new", "mood": "fine"]) }
        #expect(try replica.statistics().rows["note"] == 2)
        #expect(try replica.reader.read { db in try ReplicaIntegrity.check(db) } == "ok")
    }
}
