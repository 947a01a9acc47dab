import CRMDomain
import Foundation
import GRDB
import Replica
import Synchronization
import TestSupport
import Testing

/// A gateway that fails as told, counting its calls.
final class FlakyGateway: SMSGateway {
    let calls = Mutex(0)
    let failure: SMSGatewayError?

    init(failure: SMSGatewayError?) {
        self.failure = failure
    }

    func send(_ message: OutgoingSMS) throws -> GatewayReceipt {
        calls.withLock { $0 += 1 }
        if let failure { throw failure }
        return GatewayReceipt(reference: message.messageId, delivered: nil)
    }
}

/// What becomes of a message the gateway does not take, or takes without the node learning it.
@Suite("SMS gateway outcomes")
struct SMSGatewayOutcomeTests {
    static func queued() async throws -> (TestNode, String) {
        let (node, patients) = try await SMSTests.fixture()
        let id = try await node.crm.sms.send(Staff.agent, patientId: patients[0], phone: nil, body: "复查提醒", scheduledAt: nil)
        return (node, id)
    }

    static func message(_ node: TestNode, _ id: String) async throws -> SMSMessage {
        try #require(try await node.crm.sms.outbox(Staff.manager, status: nil, page: PageRequest(limit: 500)).items.first { $0.id == id })
    }

    @Test func anUnreachableGatewayIsTriedAgainWithBackOffThenTheMessageFails() async throws {
        let (node, id) = try await Self.queued()
        let gateway = FlakyGateway(failure: SMSGatewayError(reason: "Kannel unreachable (connect)", transient: true))
        var report = try await node.crm.sms.dispatch(gateway: gateway)
        #expect(report.retried == 1 && report.failed == 0)
        var message = try await Self.message(node, id)
        #expect(message.status == "queued" && message.attempts == 1 && message.error == "Kannel unreachable (connect)")
        // Not due again yet: nothing is sent.
        report = try await node.crm.sms.dispatch(gateway: gateway)
        #expect(gateway.calls.withLock { $0 } == 1)
        var waits: [Double] = []
        for _ in 0..<10 {
            let due = try #require(node.crm.time.parseTimestamp(try await Self.message(node, id).scheduledAt))
            waits.append(due.timeIntervalSince(node.clock.current))
            node.clock.advance(by: 3_601_000)
            report = try await node.crm.sms.dispatch(gateway: gateway)
            if try await Self.message(node, id).status == "failed" { break }
        }
        message = try await Self.message(node, id)
        #expect(message.status == "failed" && message.attempts == 6 && gateway.calls.withLock { $0 } == 6)
        #expect(waits.prefix(3).map { $0.rounded() } == [30, 60, 120], "\(waits)")
    }

    @Test func aRefusalFailsAtOnce() async throws {
        let (node, id) = try await Self.queued()
        let gateway = FlakyGateway(failure: SMSGatewayError(reason: "Kannel refused it: 403 Authorization failed"))
        #expect(try await node.crm.sms.dispatch(gateway: gateway).failed == 1)
        #expect(try await Self.message(node, id).status == "failed")
    }

    @Test func aSendTheNodeNeverHeardBackFromIsNotSentAgain() async throws {
        let (node, id) = try await Self.queued()
        // The node handed the message over and stopped before recording the outcome.
        try await node.replica.writeLocal { db in
            try db.execute(sql: "INSERT INTO crm_sms_attempt (messageId, startedAt) VALUES (?, ?)", arguments: [id, node.crm.currentTimestamp()])
        }
        let gateway = FlakyGateway(failure: nil)
        _ = try await node.crm.sms.dispatch(gateway: gateway)
        #expect(gateway.calls.withLock { $0 } == 0, "not sent a second time while its report may still come")
        #expect(try await Self.message(node, id).status == "queued")
        // Kannel's report names the message: it settles it.
        try await node.crm.sms.recordGatewayReport(messageId: id, delivered: nil, error: nil)
        #expect(try await Self.message(node, id).status == "sent")
        try await node.crm.sms.recordGatewayReport(messageId: id, delivered: true, error: nil)
        try await node.crm.sms.recordGatewayReport(messageId: id, delivered: false, error: "late")
        #expect(try await Self.message(node, id).status == "delivered", "a late failure does not undo a delivery")

        // Another interrupted send that no report ever settles: failed with the reason, never resent.
        let (other, second) = try await Self.queued()
        try await other.replica.writeLocal { db in
            try db.execute(sql: "INSERT INTO crm_sms_attempt (messageId, startedAt) VALUES (?, ?)", arguments: [second, other.crm.currentTimestamp()])
        }
        other.clock.advance(by: 300_000)
        _ = try await other.crm.sms.dispatch(gateway: gateway)
        let settled = try await Self.message(other, second)
        #expect(settled.status == "failed" && settled.error?.hasPrefix("outcome unknown") == true, "\(settled)")
        #expect(gateway.calls.withLock { $0 } == 0)
    }

    @Test func aTimeoutAfterSendingIsNeitherRetriedNorFailed() async throws {
        let (node, id) = try await Self.queued()
        let gateway = FlakyGateway(failure: SMSGatewayError(reason: "no answer from Kannel (deadlineExceeded)", outcomeUnknown: true))
        #expect(try await node.crm.sms.dispatch(gateway: gateway).unknown == 1)
        node.clock.advance(by: 60_000)
        _ = try await node.crm.sms.dispatch(gateway: gateway)
        #expect(gateway.calls.withLock { $0 } == 1, "not sent again while Kannel may hold it")
        try await node.crm.sms.recordGatewayReport(messageId: id, delivered: true, error: nil)
        #expect(try await Self.message(node, id).status == "delivered")
    }

    @Test func theDemoFileGatewayClaimsNoDelivery() async throws {
        let (node, id) = try await Self.queued()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-\(UUID()).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try await node.crm.sms.dispatch(gateway: FileSMSGateway(path: path))
        #expect(try await Self.message(node, id).status == "sent")
    }
}
