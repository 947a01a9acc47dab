import Foundation
import GRDB
import Replica
import Synchronization
import TestSupport
import Testing

@testable import CRMDomain

/// Rows a stolen ward gateway can write within its certificate, crafted to stop the nodes that
/// read them: NULLs where the domain expects a value, integers at their limit, ids that squat on
/// another ward's. Each must leave central and the call centers working.
@Suite("Hostile rows from a ward")
struct HostileRowTests {
    /// A bedside visitor's ward is compared byte for byte: a row replicated with ward
    /// "W-\u{212A}1" (a Kelvin sign) is not in ward "W-K1", though Swift's `==` says it is.
    @Test func aVisitorsWardIsNotALookAlikeWard() {
        let visitor = Caller(userId: "nurse", role: .visitor, wardId: "W-K1")
        #expect(visitor.isOwnWard("W-K1"))
        #expect(!visitor.isOwnWard("W-\u{212A}1"))
        #expect(!visitor.isOwnWard(nil) && !Caller(userId: "x", role: .visitor, wardId: nil).isOwnWard("W-K1"))
    }

    static let wards: [UInt64: Set<String>] = [2: ["W-CARD"]]

    /// A queued message with an attempt count at Int64's limit (a call center may queue one; the
    /// count merges under `max`) must not stop central's dispatcher by trapping as it counts.
    @Test func aQueuedMessageWithAHugeAttemptCountNeverStopsTheDispatcher() async throws {
        let central = try TestNode(1, callCenters: [3]), callCenter = try TestNode(3, callCenters: [3])
        try await central.seedOrganisation()
        try central.send(to: callCenter)
        try await callCenter.replica.write { tx in
            try tx.insert(
                into: "smsMessage",
                values: [
                    "phone": "13800000009", "body": "x", "status": "queued", "scheduledAt": "2000-01-01T00:00:00+08:00",
                    "attempts": Int64.max,
                ])
        }
        try callCenter.send(to: central)
        let gateway = RecordingGateway()
        let report = try await central.crm.sms.dispatch(gateway: gateway)
        #expect(report.sent == 1)
        // Still working: a message of its own goes out.
        _ = try await central.crm.sms.send(Staff.agent, patientId: nil, phone: "13800000008", body: "复查提醒", scheduledAt: nil)
        _ = try await central.crm.sms.dispatch(gateway: gateway)
        #expect(gateway.sent.withLock { $0.map(\.phone) } == ["13800000009", "13800000008"])
    }

    /// A message without a number or a text cannot be queued anywhere: the columns are declared
    /// not null, so a node's own replica refuses it and every receiver refuses a commit carrying it.
    @Test func aMessageWithoutPhoneOrBodyIsRefused() async throws {
        let callCenter = try TestNode(3, callCenters: [3])
        await #expect(throws: ReplicaError.self) {
            try await callCenter.replica.write { tx in
                try tx.insert(into: "smsMessage", values: ["status": "queued", "scheduledAt": "2000-01-01T00:00:00+08:00", "body": "x"])
            }
        }
    }

    /// A ward gateway queues no SMS at all: central's gateway sends queued messages to any number
    /// with any text, so a stolen gateway could otherwise send from the hospital's sender.
    @Test func aWardNodeQueuesNoSMS() async throws {
        let ward = try TestNode(2, wardNodes: Self.wards)
        await #expect(throws: ReplicaError.self) {
            try await ward.replica.write { tx in
                try tx.insert(into: "smsMessage", values: ["phone": "13800000009", "body": "x", "status": "queued", "scheduledAt": "2000-01-01T00:00:00+08:00"])
            }
        }
    }

    /// A ward that records HIS admission 123 first does not capture the admission HIS sends for
    /// another ward under that number: central records its own, in the right ward, with its tasks.
    @Test func aWardRecordingAnotherWardsHISNumberFirstDoesNotCaptureItsAdmission() async throws {
        let central = try TestNode(1, wardNodes: Self.wards), ward = try TestNode(2, wardNodes: Self.wards)
        try await central.seedOrganisation()
        let patient = try await central.patient("患者甲")
        try central.send(to: ward)
        let squatted = try await ward.crm.encounters.record(
            .system,
            EncounterInput(patientId: patient, kind: "inpatient", departmentId: "D-CARD", wardId: "W-CARD", admittedAt: "2026-11-23T08:00:00+08:00", hisId: "123"))
        try ward.send(to: central)
        let admitted = try await central.crm.encounters.record(
            .system,
            EncounterInput(patientId: patient, kind: "inpatient", departmentId: "D-ORTH", wardId: "W-ORTH", admittedAt: "2026-11-23T09:00:00+08:00", hisId: "123"))
        #expect(admitted != squatted)
        #expect(try await central.crm.encounters.encounter(admitted).wardId == "W-ORTH")
        // Recording HIS's admission again finds it, not the ward's.
        let again = try await central.crm.encounters.record(
            .system,
            EncounterInput(patientId: patient, kind: "inpatient", departmentId: "D-ORTH", wardId: "W-ORTH", admittedAt: "2026-11-23T09:00:00+08:00", hisId: "123"))
        #expect(again == admitted)
    }

    /// An id with two bindings (`his-123~0~W-CARD` sorts among `his-123`'s) is bound to no ward:
    /// a ward node cannot create it.
    @Test func anIdWithTwoBindingsIsBoundToNoWard() async throws {
        #expect(!BoundRowID.isBound("his-123~0~W-CARD", toWard: "W-CARD"))
        #expect(BoundRowID.isBound("his-123~W-CARD", toWard: "W-CARD"))
        let central = try TestNode(1, wardNodes: Self.wards), ward = try TestNode(2, wardNodes: Self.wards)
        try await central.seedOrganisation()
        let patient = try await central.patient("患者乙")
        try central.send(to: ward)
        await #expect(throws: ReplicaError.self) {
            try await ward.replica.write { tx in
                try tx.insert(
                    into: "encounter", values: ["patientId": patient, "kind": "inpatient", "wardId": "W-CARD", "admittedAt": "2026-11-23T08:00:00+08:00"],
                    id: "his-123~0~W-CARD")
            }
        }
    }

    /// The columns the domain reads as present (a NULL there would stop every node that lists the
    /// row) are declared not null, so no node writes a NULL into them and none accepts one.
    @Test func everyColumnTheDomainNeedsIsDeclaredNotNull() {
        let required: [String: [String]] = [
            "encounter": ["patientId", "kind", "admittedAt"], "encounterEvent": ["encounterId", "kind", "at"],
            "followUpTask": ["patientId", "kind", "dueDate"], "followUpRecord": ["taskId", "outcome", "at"],
            "smsMessage": ["phone", "body", "status", "scheduledAt"], "complaint": ["status", "registeredAt"],
            "complaintNote": ["status", "at"], "auditEntry": ["at", "action", "nodeId", "userId", "entity", "entityId"],
            "patientMerge": ["survivorId", "mergedId"], "surveyResponse": ["patientId", "answers", "templateId", "mode", "submittedAt"],
            "opinion": ["kind", "at"], "consultation": ["at"], "appointment": ["kind", "scheduledAt", "status"],
        ]
        for (table, columns) in required {
            let declared = repositoryPolicies.table(named: table)?.columns ?? []
            for column in columns {
                #expect(declared.first { $0.name == column }?.notNull == true, "\(table).\(column)")
            }
        }
    }

    /// An admission central itself recorded is found again when HIS later names another ward for
    /// it (HIS moved the patient; the CRM never heard of the transfer): no second admission.
    @Test func anAdmissionThisNodeRecordedIsFoundAgainWhenHISNamesAnotherWard() async throws {
        let central = try TestNode(1, wardNodes: Self.wards)
        try await central.seedOrganisation()
        let patient = try await central.patient("患者丙")
        let input = { (ward: String, department: String) in
            EncounterInput(patientId: patient, kind: "inpatient", departmentId: department, wardId: ward, admittedAt: "2026-11-23T08:00:00+08:00", hisId: "456")
        }
        let first = try await central.crm.encounters.record(.system, input("W-CARD", "D-CARD"))
        #expect(try await central.crm.encounters.record(.system, input("W-ORTH", "D-ORTH")) == first)
    }

    /// Queuing SMS on a ward gateway is refused with a clear error, and revoking a node twice
    /// leaves one audit entry.
    @Test func aWardGatewayRefusesToQueueSMSAndASecondRevocationIsNotAudited() async throws {
        let ward = try TestNode(2, wardNodes: Self.wards)
        await #expect(throws: CRMError(.forbidden, "text messages are sent from central or a call center, not a ward gateway")) {
            try await ward.crm.sms.send(Staff.agent, patientId: nil, phone: "13800000009", body: "x", scheduledAt: nil)
        }
        let central = try TestNode(1, wardNodes: Self.wards)
        #expect(try await central.crm.organisation.revokeNode(Staff.admin, NodeID(2), name: "ward"))
        #expect(try await !central.crm.organisation.revokeNode(Staff.admin, NodeID(2), name: "ward"))
        let revocations = try await central.crm.organisation.auditTrail(Staff.admin, page: PageRequest()).items.filter { $0.action == "node.revoke" }
        #expect(revocations.count == 1)
    }

    /// A message the gateway took is recorded as sent even when the dispatcher's task is cancelled
    /// right then (the node shutting down): otherwise it stays queued and goes out twice.
    @Test func aMessageTheGatewayTookIsRecordedEvenWhenTheDispatcherIsCancelled() async throws {
        let central = try TestNode(1)
        let id = try await central.crm.sms.send(Staff.agent, patientId: nil, phone: "13800000007", body: "复查", scheduledAt: nil)
        let crm = central.crm
        let dispatch = Task { try await crm.sms.dispatch(gateway: CancellingGateway()) }
        _ = try? await dispatch.value
        let outbox = try await central.crm.sms.outbox(Staff.manager, status: nil, page: PageRequest()).items
        #expect(outbox.first { $0.id == id }?.status == SMSStatus.sent.rawValue)
    }
}

/// A gateway that takes the message and cancels the task sending it, as a shutdown would.
struct CancellingGateway: SMSGateway {
    func send(_ message: OutgoingSMS) async throws -> GatewayReceipt {
        withUnsafeCurrentTask { $0?.cancel() }
        return GatewayReceipt(reference: "ref-" + message.messageId, delivered: nil)
    }
}
