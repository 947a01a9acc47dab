import Foundation
import Testing

@testable import Replica

/// The schema evolution rules: what a release may change in the conflict policies, as
/// `suifang policies check --against OLD_DIR` judges it.
@Suite("Policy evolution")
struct PolicyEvolutionTests {
    let base = """
        table complaint
          key id
          write central ward
          no-delete
          column patientId text not null
          column status text not null lifecycle registered accepted closed
          column note text
        table ward
          column name text
        """

    func evolution(_ new: String) throws -> PolicyEvolution {
        PolicyEvolution(from: try PolicySet(parsing: base), to: try PolicySet(parsing: new))
    }

    @Test func additionsAndRelaxationsAreAllowed() throws {
        let new = """
            table complaint
              key id
              write central ward callcenter
              no-delete
              column patientId text not null
              column status text not null lifecycle registered accepted closed archived
              column note text
              column channel text
            table ward
              column name text
            table kioskVisit
              column departmentId text not null
            """
        let found = try evolution(new)
        #expect(found.isCompatible, "\(found.changes)")
        #expect(
            Set(found.changes.map(\.description)) == [
                "complaint: may now be written by callcenter", "complaint.status: lifecycle states added: archived",
                "complaint.channel: column added", "kioskVisit: table added",
            ])
        #expect(try evolution(base).changes.isEmpty)
        // Dropping `not null` relaxes a rule.
        #expect(try evolution(base.replacingOccurrences(of: "column patientId text not null", with: "column patientId text")).isCompatible)
    }

    @Test func whatChangesTheMeaningOfStoredCommitsIsRefused() throws {
        let refused: [(String, String)] = [
            ("table removed", base.replacingOccurrences(of: "table ward\n  column name text", with: "")),
            ("column removed", base.replacingOccurrences(of: "  column note text\n", with: "")),
            ("renamed or moved", base.replacingOccurrences(of: "column note text", with: "column remark text")),
            ("type changed", base.replacingOccurrences(of: "column note text", with: "column note integer")),
            ("policy changed", base.replacingOccurrences(of: "column note text", with: "column note text keep-both")),
            ("lifecycle states changed", base.replacingOccurrences(of: "registered accepted closed", with: "registered closed accepted")),
            ("made not null", base.replacingOccurrences(of: "column note text", with: "column note text not null")),
            ("fewer roles", base.replacingOccurrences(of: "write central ward", with: "write central")),
            ("no-delete dropped", base.replacingOccurrences(of: "  no-delete\n", with: "")),
            ("column added as not null", base + "\n  column name2 text not null"),
            ("append-only", base.replacingOccurrences(of: "table ward", with: "table ward append-only")),
        ]
        for (what, text) in refused {
            let found = try evolution(text)
            #expect(!found.isCompatible, "\(what)")
            #expect(found.changes.contains { !$0.isAllowed && $0.description.contains(what) }, "\(what): \(found.changes)")
        }
    }
}
