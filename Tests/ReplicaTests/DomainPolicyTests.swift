import CRMDomain
import Foundation
import Testing
@testable import Replica

@Suite("Domain types agree with the policy files")
struct DomainPolicyTests {
    @Test func theComplaintLifecycleInCodeIsTheDeclaredOne() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("conflict-policies")
        let complaint = try #require(try PolicySet.load(directory: directory).table(named: "complaint"))
        let status = try #require(complaint.columns.first { $0.name == "status" })
        #expect(status.policy == .lifecycle(ComplaintStatus.allCases.map(\.rawValue)))
        #expect(ComplaintStatus.registered < .closed)
    }
}
