import CRMDomain
import Foundation
import TestSupport
import Testing

@testable import Replica

@Suite("Domain types agree with the policy files")
struct DomainPolicyTests {
    @Test func theComplaintLifecycleInCodeIsTheDeclaredOne() throws {
        let complaint = try #require(try PolicySet.load(directory: RepositoryFiles.policiesDirectory).table(named: "complaint"))
        let status = try #require(complaint.columns.first { $0.name == "status" })
        #expect(status.policy == .lifecycle(ComplaintStatus.allCases.map(\.rawValue)))
        #expect(ComplaintStatus.registered < .closed)
    }
}
