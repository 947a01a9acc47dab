import CRMDomain
import Foundation
import GRDB
import Replica
import Synchronization
import TestSupport
import Testing

/// A gateway that records what it sends and refuses numbers ending in 0000.
final class RecordingGateway: SMSGateway {
    let sent = Mutex<[OutgoingSMS]>([])

    func send(_ message: OutgoingSMS) throws -> GatewayReceipt {
        if message.phone.hasSuffix("0000") { throw SMSGatewayError(reason: "carrier rejected the number") }
        sent.withLock { $0.append(message) }
        return GatewayReceipt(reference: "ref-" + message.messageId, delivered: nil)
    }
}

@Suite("SMS: audiences, campaigns, caps, opt-out, resend")
struct SMSTests {
    static func fixture() async throws -> (TestNode, [String]) {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        try await node.crm.organisation.setSetting(.system, key: "hospitalName", value: "福州市第一医院")
        try await node.crm.sms.saveTemplate(.system, SMSTemplate(id: "care", name: "出院关怀", kind: "followup", body: "{name}您好，{hospital}{department}提醒您按时复查。"))
        var patients: [String] = []
        for (index, phone) in ["13800000001", "13800000002", "13800000003", "13800000000"].enumerated() {
            let patient = try await node.patient("患者\(index)", phone: phone, birthDate: index == 0 ? "1960-11-23" : "1970-01-0\(index + 1)")
            let encounter = try await node.crm.encounters.record(
                .system,
                EncounterInput(
                    patientId: patient, kind: "inpatient", departmentId: index == 2 ? "D-ORTH" : "D-CARD",
                    wardId: index == 2 ? "W-ORTH" : "W-CARD", diagnosisCode: index == 2 ? "S72.0" : "I21.0",
                    admittedAt: "2026-11-10T08:00:00+08:00"))
            try await node.crm.encounters.discharge(.system, encounterId: encounter, at: "2026-11-20T10:00:00+08:00", status: .improved)
            patients.append(patient)
        }
        return (node, patients)
    }

    @Test func theAudienceCountLeavesOutOptedOutAndBlacklistedNumbers() async throws {
        let (node, _) = try await Self.fixture()
        let cardiac = SMSAudience(diseases: ["I21"], dischargedSince: "2026-11-01")
        await #expect(try node.crm.sms.audienceCount(Staff.manager, cardiac) == 3)
        await #expect(try node.crm.sms.audienceCount(Staff.manager, SMSAudience(departments: ["D-ORTH"])) == 1)
        try await node.crm.sms.receive(phone: "+86 138-0000-0001", body: " t ")
        try await node.crm.service.setBlacklisted(Staff.agent, phone: "13800000002", blacklisted: true, reason: "骚扰")
        await #expect(try node.crm.sms.audienceCount(Staff.manager, cardiac) == 1)
        await #expect(throws: CRMError(.conflict, "this number has opted out of SMS")) {
            try await node.crm.sms.send(Staff.agent, patientId: nil, phone: "13800000001", body: "测试", scheduledAt: nil)
        }
        await #expect(throws: CRMError.self) { try await node.crm.sms.audienceCount(Staff.agent, cardiac) }
    }

    @Test func aCampaignQueuesOneRenderedMessagePerPatientAndTheDispatcherSendsFailsAndResends() async throws {
        let (node, patients) = try await Self.fixture()
        let campaign = try await node.crm.sms.createCampaign(Staff.manager, name: "心内出院关怀", templateId: "care", audience: SMSAudience(departments: ["D-CARD"]), scheduledAt: nil)
        #expect(campaign.messages == 3)
        let gateway = RecordingGateway()
        let report = try await node.crm.sms.dispatch(gateway: gateway)
        #expect(report.sent == 2 && report.failed == 1)
        let first = try #require(gateway.sent.withLock { $0 }.first { $0.phone == "13800000001" })
        #expect(first.body == "患者0您好，福州市第一医院心内科提醒您按时复查。")
        let failed = try await node.crm.sms.outbox(Staff.manager, status: .failed, page: PageRequest())
        #expect(failed.items.count == 1)
        #expect(failed.items[0].phone == "138****0000", "numbers are masked in lists")
        #expect(failed.items[0].patientId == patients[3])
        try await node.crm.sms.resend(Staff.manager, id: failed.items[0].id)
        await #expect(try node.crm.sms.outbox(Staff.manager, status: .queued, page: PageRequest()).items.count == 1)
        await #expect(throws: CRMError.self) { try await node.crm.sms.resend(Staff.manager, id: failed.items[0].id) }
        try await node.crm.sms.recordDeliveryReport(reference: "ref-" + first.messageId, delivered: true, error: nil)
        await #expect(try node.crm.sms.outbox(Staff.manager, status: .delivered, page: PageRequest()).items.count == 1)
    }

    @Test func theDailyCapHoldsMessagesUntilTomorrowAndScheduledSendsWait() async throws {
        let (node, patients) = try await Self.fixture()
        try await node.crm.organisation.setSetting(.system, key: "smsDailyCap", value: "2")
        for _ in 0..<3 { _ = try await node.crm.sms.send(Staff.agent, patientId: patients[0], phone: nil, body: "提醒", scheduledAt: nil) }
        _ = try await node.crm.sms.send(Staff.agent, patientId: patients[1], phone: nil, body: "明天", scheduledAt: "2026-11-24T09:00:00+08:00")
        let gateway = RecordingGateway()
        var report = try await node.crm.sms.dispatch(gateway: gateway)
        #expect(report.sent == 2 && report.deferredByDailyCap == 1)
        node.clock.advance(hours: 24)
        report = try await node.crm.sms.dispatch(gateway: gateway)
        #expect(report.sent == 2, "the capped one and the scheduled one")
    }

    @Test func birthdayGreetingsAreQueuedOncePerYearEvenFromTwoNodes() async throws {
        let (a, _) = try await Self.fixture()
        let b = try TestNode(2)
        try await a.crm.sms.saveTemplate(.system, SMSTemplate(id: "birthday", name: "生日祝福", kind: "birthday", body: "{name}，祝您生日快乐！"))
        try a.sync(with: b)
        await #expect(try a.crm.sms.queueBirthdayGreetings(.system, templateId: "birthday") == 1)
        await #expect(try a.crm.sms.queueBirthdayGreetings(.system, templateId: "birthday") == 0)
        await #expect(try b.crm.sms.queueBirthdayGreetings(.system, templateId: "birthday") == 1)
        try a.sync(with: b)
        let queued = try await a.crm.sms.outbox(Staff.manager, status: .queued, page: PageRequest()).items.filter { $0.body.contains("生日") }
        #expect(queued.count == 1)
    }

    @Test func templatesWithUnknownPlaceholdersAreRefused() async throws {
        let node = try TestNode(1)
        await #expect(throws: CRMError(.unprocessable, "body: unknown placeholder '{phone}' (known: name, date, hospital, department, time, holiday, surveyLink)")) {
            try await node.crm.sms.saveTemplate(Staff.manager, SMSTemplate(id: "x", name: "x", kind: "general", body: "{phone}"))
        }
    }
}

@Suite("Call center: caller ID and blacklist")
struct CallCenterTests {
    @Test func callerIDFindsTheArchiveWhateverTheNumberFormat() async throws {
        let node = try TestNode(1)
        let patient = try await node.patient("来电", phone: "13912345678")
        for format in ["13912345678", "+86 139 1234 5678", "0086-139-1234-5678", "139-1234-5678", "8613912345678"] {
            await #expect(try node.crm.patients.lookupCaller(Staff.agent, phone: format).patients.map(\.id) == [patient], "\(format)")
        }
        await #expect(try node.crm.patients.lookupCaller(Staff.agent, phone: "13900000000").patients.isEmpty)
        await #expect(throws: CRMError(.unprocessable, "not a phone number")) { try await node.crm.patients.lookupCaller(Staff.agent, phone: "abc") }
        try await node.crm.service.setBlacklisted(Staff.agent, phone: "+86 139 1234 5678", blacklisted: true, reason: nil)
        await #expect(try node.crm.patients.lookupCaller(Staff.agent, phone: "13912345678").blacklisted)
        await #expect(try node.crm.service.blacklist(Staff.agent).map(\.number) == ["139****5678"])
        try await node.crm.service.setBlacklisted(Staff.agent, phone: "13912345678", blacklisted: false, reason: nil)
        await #expect(try !node.crm.patients.lookupCaller(Staff.agent, phone: "13912345678").blacklisted)
        await #expect(throws: CRMError.self) { try await node.crm.patients.lookupCaller(Staff.visitor, phone: "13912345678") }
    }

    @Test func consultationsAndAppointmentsWithVisitConfirmation() async throws {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        let patient = try await node.patient("咨询")
        let consultation = try await node.crm.service.registerConsultation(Staff.agent, patientId: patient, phone: nil, topic: "复查时间", content: "出院后何时复查？", handling: nil)
        try await node.crm.service.answerConsultation(Staff.agent, id: consultation, handling: "两周后心内科门诊")
        let appointment = try await node.crm.service.bookAppointment(
            Staff.agent, patientId: patient, kind: "examination", departmentId: "D-CARD", doctorId: nil,
            scheduledAt: "2026-12-01T09:00:00+08:00")
        try await node.crm.service.setAppointmentStatus(Staff.agent, id: appointment, status: .confirmed)
        await #expect(throws: CRMError.self) { try await node.crm.service.setAppointmentStatus(Staff.agent, id: appointment, status: .noShow) }
        let archive = try await node.crm.patients.archive(Staff.agent, patientId: patient)
        #expect(archive.consultations.first?.status == "answered")
        #expect(archive.appointments.first?.status == "confirmed" && archive.appointments.first?.confirmedAt != nil)
    }
}
