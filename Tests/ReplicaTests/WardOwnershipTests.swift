import GRDB
import Testing
@testable import Replica

/// `owned-by`: a ward node writes ward-owned rows only for the wards its certificate names.
@Suite("Ward ownership: a ward node writes admissions, tasks, surveys and opinions only for its wards")
struct WardOwnershipTests {
    static let policies: PolicySet = try! PolicySet(parsing: """
        table stay
          key id
          write central ward
          no-delete
          owned-by wardId
          column wardId text
          column note text

        table answer append-only
          key id
          write central ward
          no-delete
          owned-by wardId
          column wardId text
          column score integer
        """, file: "ownership.policy")

    /// Node 1 is central; node 2 a ward node working for W-1 and W-2.
    static func trust(_ node: UInt64) -> SharedSecretTrust {
        SharedSecretTrust(nodeID: NodeID(node), roles: [NodeID(2): .ward], wards: [NodeID(2): ["W-1", "W-2"]])
    }

    func replica(_ node: UInt64) throws -> Replica {
        var configuration = ReplicaConfiguration(nodeID: NodeID(node), policies: Self.policies, rowIDSeed: node)
        configuration.authority = Self.trust(node)
        return try Replica.inMemory(configuration: configuration)
    }

    func isRefused(_ error: any Error) -> Bool { (error as? ReplicaError)?.code == .notAuthorized }

    @Test func aWardNodeCreatesRowsOnlyForItsWards() throws {
        let ward = try replica(2)
        try ward.write { try $0.insert(into: "stay", values: ["wardId": "W-1", "note": "admitted"], id: "S1") }
        try ward.write { try $0.insert(into: "answer", values: ["wardId": "W-2", "score": 9], id: "A1") }
        #expect { try ward.write { try $0.insert(into: "stay", values: ["wardId": "W-9"], id: "S2") } } throws: { isRefused($0) }
        #expect { try ward.write { try $0.insert(into: "answer", values: ["score": 1], id: "A2") } } throws: { isRefused($0) }
        #expect(try ward.statistics().rows["stay"] == 1)
    }

    @Test func aWardNodeMayMoveARowInOrOutOfItsWardsButNotTouchAnotherWardsRow() throws {
        let central = try replica(1), ward = try replica(2)
        try central.write { tx in
            try tx.insert(into: "stay", values: ["wardId": "W-9", "note": "elsewhere"], id: "OTHER")
            try tx.insert(into: "stay", values: ["wardId": "W-9", "note": "arriving"], id: "INCOMING")
        }
        try sync(central, into: ward)
        #expect { try ward.write { try $0.update("stay", id: "OTHER", set: ["note": "edited"]) } } throws: { isRefused($0) }
        try ward.write { try $0.update("stay", id: "INCOMING", set: ["wardId": "W-1"]) }   // transferred in
        try ward.write { try $0.update("stay", id: "INCOMING", set: ["note": "settled"]) }
        try ward.write { try $0.update("stay", id: "INCOMING", set: ["wardId": "W-9"]) }   // transferred out
        #expect { try ward.write { try $0.update("stay", id: "INCOMING", set: ["note": "again"]) } } throws: { isRefused($0) }
        // Central and call centers are not bound to wards.
        try central.write { try $0.update("stay", id: "OTHER", set: ["note": "central edits anything"]) }
    }

    @Test func aRowCreatedForAnotherWardQuarantinesItsWardOrigin() throws {
        let central = try replica(1)
        // A stolen gateway running modified code signs whatever it likes with its own key.
        var rogue = ChainWriter(authority: Self.trust(2), policies: Self.policies)
        try rogue.commit(inserting: [("stay", "MINE", ["W-1".databaseValue, "fine".databaseValue])], at: HLC(milliseconds: 1_780_000_000_000, counter: 0))
        try rogue.commit(inserting: [("answer", "THEIRS", ["W-9".databaseValue, 3.databaseValue])], at: HLC(milliseconds: 1_780_000_000_001, counter: 0))
        try rogue.commit(inserting: [("stay", "LATER", ["W-1".databaseValue, .null])], at: HLC(milliseconds: 1_780_000_000_002, counter: 0))
        let report = try central.apply(ChangeBatch(segments: [rogue.segment()]))
        #expect(report.commitsApplied == 1)
        #expect(report.quarantined.map(\.origin) == [NodeID(2)])
        #expect(report.quarantined.first?.rule.contains("only for the wards its certificate names") == true)
        #expect(try central.statistics().rows["answer"] == 0)
        #expect(try central.statistics().rows["stay"] == 1, "the commit after the refused one is held too")
    }

    @Test func theOwnerColumnMustBeADeclaredLastWriterWinsTextColumn() throws {
        #expect(throws: PolicyFileError.self) {
            try PolicySet(parsing: "table t\n  key id\n  owned-by ward\n  column other text\n", file: "bad.policy")
        }
        #expect(throws: PolicyFileError.self) {
            try PolicySet(parsing: "table t\n  key id\n  owned-by ward\n  column ward integer\n", file: "bad.policy")
        }
        #expect(throws: PolicyFileError.self) {
            try PolicySet(parsing: "table t\n  key id\n  owned-by ward\n  owned-by ward\n  column ward text\n", file: "bad.policy")
        }
    }
}
