import Foundation
import GRDB
import TestSupport
import Testing

@testable import Replica

@Suite("Policy files")
struct PolicyFileTests {
    @Test func theRepositoryPoliciesLoadAndDeclareEveryKind() throws {
        let set = try PolicySet.load(directory: RepositoryFiles.policiesDirectory)
        let kinds = Set(set.tables.flatMap { $0.columns.map(\.policy.keyword) })
        #expect(kinds.isSuperset(of: ["last-writer-wins", "first-writer-wins", "max", "min", "lifecycle", "keep-both", "add-wins-set"]))
        #expect(set.tables.contains { $0.rowPolicy == .appendOnly })
        #expect(set.contentHash.count == 64)
    }

    @Test func theHashChangesWithAnyPolicyAndIgnoresLayout() throws {
        let a = try PolicySet(parsing: "table t\n column a text\n")
        let b = try PolicySet(parsing: "# same, other layout\ntable   t\n\n\tcolumn a   text   last-writer-wins\n")
        let c = try PolicySet(parsing: "table t\n column a text max\n")
        #expect(a.contentHash == b.contentHash)
        #expect(a.contentHash != c.contentHash)
    }

    @Test(arguments: [
        ("table t\n  column a text sometimes\n", 2, "unknown policy 'sometimes'"),
        ("table t\n  column a varchar\n", 2, "unknown type 'varchar'"),
        ("column a text\n", 1, "'column' outside a table"),
        ("table t\n  column a text\n  column a integer\n", 3, "declared twice"),
        ("table t\n  column a text\ntable t\n  column b text\n", 3, "declared twice"),
        ("table t\n  column s text lifecycle open\n", 2, "at least two states"),
        ("table t\n  column s text lifecycle open open\n", 2, "lists a state twice"),
        ("table t\n  column s integer lifecycle a b\n", 2, "must be text"),
        ("table t\n  column s integer add-wins-set\n", 2, "must be text"),
        ("table t append-only\n  column a text first-writer-wins\n", 2, "append-only"),
        ("table t\n  column a text\n  key id\n", 3, "before the columns"),
        ("table t\n", 1, "declares no columns"),
        ("table 9t\n  column a text\n", 1, "not a valid name"),
        ("table sqlite_x\n  column a text\n", 1, "reserved prefix"),
        ("table t\n  column a text max extra\n", 2, "takes no arguments"),
        ("tabel t\n", 1, "unknown keyword 'tabel'"),
    ])
    func malformedOrContradictoryFilesNameTheLineAndProblem(text: String, line: Int, problem: String) {
        do {
            _ = try PolicySet(parsing: text, file: "bad.policy")
            Issue.record("accepted a bad policy file")
        } catch {
            #expect(error.file == "bad.policy")
            #expect(error.line == line)
            #expect(error.problem.contains(problem), "\(error)")
        }
    }

    @Test func aTableDeclaredInTwoFilesNamesBoth() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("policies-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "table patient\n  column name text\n".write(to: directory.appendingPathComponent("a.policy"), atomically: true, encoding: .utf8)
        try "# again\ntable patient\n  column phone text\n".write(to: directory.appendingPathComponent("b.policy"), atomically: true, encoding: .utf8)
        #expect {
            _ = try PolicySet.load(directory: directory)
        } throws: { error in
            guard let error = error as? PolicyFileError else { return false }
            return error.file.hasSuffix("b.policy") && error.line == 2 && error.problem.contains("a.policy:1")
        }
    }

    @Test func addingAColumnMigratesRemovingOrRetypingIsRefused() throws {
        let file = TemporaryDatabase("migrate")
        defer { file.remove() }
        let path = file.path
        let v1 = try PolicySet(parsing: "table t\n column a text\n")
        let first = try Replica.open(at: path, configuration: ReplicaConfiguration(nodeID: NodeID(1), policies: v1))
        let id = try first.write { try $0.insert(into: "t", values: ["a": "x"]) }
        let v2 = try PolicySet(parsing: "table t\n column a text\n column b integer max\n")
        let second = try Replica.open(at: path, configuration: ReplicaConfiguration(nodeID: NodeID(1), policies: v2))
        try second.write { try $0.update("t", id: id, set: ["b": 4]) }
        #expect(try value(second, "t", id, "b") == 4.databaseValue)
        let retyped = try PolicySet(parsing: "table t\n column a integer\n column b integer\n")
        #expect(throws: ReplicaError.self) { try Replica.open(at: path, configuration: ReplicaConfiguration(policies: retyped)) }
        let dropped = try PolicySet(parsing: "table t\n column b integer\n")
        #expect(throws: ReplicaError.self) { try Replica.open(at: path, configuration: ReplicaConfiguration(policies: dropped)) }
        #expect(throws: ReplicaError.self) { try Replica.open(at: path, configuration: ReplicaConfiguration(nodeID: NodeID(2), policies: v2)) }
    }
}
