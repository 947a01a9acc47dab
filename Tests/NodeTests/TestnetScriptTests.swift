import Foundation
import Testing

@testable import NodeRuntime
@testable import Testnets

/// The testnet file's fault script: a repeated clock skew written out day by day, and files that
/// contradict themselves refused before any node starts.
@Suite("Testnet scripts")
struct TestnetScriptTests {
    func topology(_ faults: String, extra: String = "") throws -> TestnetTopology {
        let json = """
            {"name": "t", "duration": 10, "nodes": [{"name": "central", "role": "central"}, {"name": "ward-1", "role": "ward", "validDays": 200}],
             "links": [["ward-1", "central"]], "faults": [\(faults)]\(extra)}
            """
        let topology = try JSONDecoder().decode(TestnetTopology.self, from: Data(json.utf8))
        try topology.validate()
        return topology
    }

    @Test func aRepeatedSkewMovesTheClockOneStepFurtherEachTime() throws {
        let script = try topology(#"{"at": 5, "heal": ["ward-1", "central"]}, {"at": 1, "skew": "ward-1", "seconds": 86400, "repeat": 3, "every": 0.5}"#).script
        #expect(script.map(\.at) == [1, 1.5, 2, 5])
        #expect(script.compactMap(\.seconds) == [86400, 172_800, 259_200])
        #expect(script.prefix(3).allSatisfy { $0.skew == "ward-1" && $0.repeat == nil })
    }

    @Test func contradictoryScriptsAreRefused() throws {
        #expect(throws: NodeSetupError.self) { try topology(#"{"at": 1, "restore": "ward-1"}"#) }
        #expect(throws: NodeSetupError.self) { try topology(#"{"at": 2, "restore": "ward-1"}, {"at": 3, "backup": "ward-1"}"#) }
        #expect(throws: NodeSetupError.self) { try topology(#"{"at": 1, "partition": ["ward-1", "central"], "repeat": 3}"#) }
        #expect(throws: NodeSetupError.self) { try topology(#"{"at": 1, "skew": "ward-1", "seconds": 1, "repeat": 0}"#) }
        #expect(throws: NodeSetupError.self) { try topology("", extra: #", "expectRenewed": ["ward-9"]"#) }
        #expect(try topology(#"{"at": 1, "backup": "ward-1"}, {"at": 2, "restore": "ward-1"}"#, extra: #", "expectRenewed": ["ward-1"]"#).script.count == 2)
        #expect(throws: NodeSetupError.self) { try topology(#"{"at": 1, "upgrade": "ward-1"}"#) }
        #expect(throws: NodeSetupError.self) { try topology(#"{"at": 1, "expectCaughtUp": "ward-9"}"#) }
        #expect(try topology(#"{"at": 1, "upgrade": "ward-1"}"#, extra: #", "nextPolicies": {"addTables": []}"#).script.count == 1)
    }

    @Test func theNextReleasesColumnsGoAfterEachTablesLastColumn() {
        let text = "# patients\ntable patient\n  key id\n  column name text\n  column phone text keep-both\n\ntable other\n  column x text\n"
        let next = TestnetRunner.addingColumns(["patient": ["probeNote text"]], to: text)
        #expect(next == "# patients\ntable patient\n  key id\n  column name text\n  column phone text keep-both\n  column probeNote text\n\ntable other\n  column x text\n")
    }
}
