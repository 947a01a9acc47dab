import CRMDomain
import Foundation
import GRDB
import Replica
import TestSupport
import Testing

@Suite("Surveys: templates, validation, idempotent submission")
struct SurveyTests {
    @Test func answersAreCheckedAgainstTheTemplateVersionTheyWereCapturedWith() async throws {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        let patient = try await node.patient("甲")
        func submit(_ answers: [String: JSONValue], id: String = "01JSURVEY000000000000001", version: Int = 1) async throws {
            var submission = bedsideSubmission(id, patient: patient, overall: 5, nps: 9)
            submission.answers = answers
            submission.templateVersion = version
            _ = try await node.crm.surveys.submit(Staff.agent, submission)
        }
        let base: [String: JSONValue] = ["overall": .number(4), "nps": .number(9), "complained": .string("no")]
        await #expect(throws: CRMError(.unprocessable, "answers: question 'overall' is required")) { try await submit(base.filter { $0.key != "overall" }) }
        await #expect(throws: CRMError(.unprocessable, "answers: question 'overall' needs an integer from 1 to 5")) {
            try await submit(base.merging(["overall": .number(6)]) { $1 })
        }
        await #expect(throws: CRMError(.unprocessable, "answers: question 'nps' needs an integer from 0 to 10")) { try await submit(base.merging(["nps": .number(7.5)]) { $1 }) }
        await #expect(throws: CRMError(.unprocessable, "answers: question 'complained' needs one of its options")) {
            try await submit(base.merging(["complained": .string("maybe")]) { $1 })
        }
        await #expect(throws: CRMError(.unprocessable, "answers: 'bogus' is not a question of this template version")) {
            try await submit(base.merging(["bogus": .number(1)]) { $1 })
        }
        // Skip logic: 'what' only when complained = yes, and then it is required.
        await #expect(throws: CRMError(.unprocessable, "answers: question 'what' is skipped by the answer to 'complained'")) {
            try await submit(base.merging(["what": .array([.string("food")])]) { $1 })
        }
        await #expect(throws: CRMError(.unprocessable, "answers: question 'what' is required")) { try await submit(base.merging(["complained": .string("yes")]) { $1 }) }
        await #expect(throws: CRMError(.unprocessable, "answers: question 'what' needs a list of distinct options")) {
            try await submit(base.merging(["complained": .string("yes"), "what": .array([.string("food"), .string("food")])]) { $1 })
        }
        try await submit(base.merging(["complained": .string("yes"), "what": .array([.string("food"), .string("noise")])]) { $1 })

        // Version 2 drops 'complained'/'what'; a tablet still on version 1 is checked against version 1.
        var definition = bedsideDefinition
        definition.questions.removeAll { $0.id == "complained" || $0.id == "what" }
        await #expect(try node.crm.surveys.saveTemplate(Staff.manager, id: "bedside", name: "入院床边探访", purpose: "bedside", diseaseCode: nil, definition: definition) == 2)
        try await submit(base, id: "01JSURVEY000000000000002", version: 1)
        await #expect(throws: CRMError.self) { try await submit(base, id: "01JSURVEY000000000000003", version: 2) }
        try await submit(["overall": .number(3), "nps": .number(5)], id: "01JSURVEY000000000000003", version: 2)
        await #expect(throws: CRMError(.notFound, "no template version with id 'bedside:3'")) { try await submit(base, id: "01JSURVEY000000000000004", version: 3) }
    }

    @Test func resubmittingTheSameResponseIsAcceptedOnceAndDifferentContentIsRefused() async throws {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        let patient = try await node.patient("甲")
        var submission = bedsideSubmission("01JSAME00000000000000001", patient: patient, overall: 5, nps: 10)
        submission.opinions = [OpinionInput(kind: .praise, text: "护士很耐心", departmentId: "D-CARD", staffId: "N-7")]
        await #expect(try node.crm.surveys.submit(Staff.agent, submission).created)
        await #expect(try !node.crm.surveys.submit(Staff.agent, submission).created)
        var changed = submission
        changed.answers["overall"] = .number(1)
        await #expect(throws: CRMError(.conflict, "response '01JSAME00000000000000001' was already submitted with different content")) {
            try await node.crm.surveys.submit(Staff.agent, changed)
        }
        let archive = try await node.crm.patients.archive(Staff.agent, patientId: patient)
        #expect(archive.surveyResponses.count == 1)
        #expect(archive.surveyResponses[0].overall == 5 && archive.surveyResponses[0].recommend == 10)
        #expect(archive.opinions.map(\.kind) == ["praise"])
        await #expect(throws: CRMError.self) { try await node.crm.surveys.submit(Staff.admin, submission) }
    }

    @Test func aBedsideResponseOnATaskCompletesTheTask() async throws {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        let patient = try await node.patient("甲")
        let encounter = try await node.crm.encounters.record(
            Staff.visitor,
            EncounterInput(
                patientId: patient, kind: "inpatient", departmentId: "D-CARD",
                wardId: "W-CARD", admittedAt: "2026-11-23T08:00:00+08:00"))
        let task = try await #require(node.crm.encounters.wardPatients(Staff.visitor, wardId: "W-CARD").first?.bedsideTaskId)
        var submission = bedsideSubmission("01JBEDSIDE00000000000001", patient: patient, overall: 4, nps: 8)
        submission.taskId = task
        _ = try await node.crm.surveys.submit(Staff.visitor, submission)
        await #expect(try node.crm.followUps.task(task).doneAt != nil)
        await #expect(try node.crm.encounters.wardPatients(Staff.visitor, wardId: "W-CARD").first?.bedsideVisitDue == false)
        _ = encounter
    }

    @Test func aPatientsDiagnosisPicksThePerDiseaseTemplateWithTheLongestMatchingCode() async throws {
        let node = try TestNode(1)
        try await node.seedOrganisation()  // "bedside", for every disease
        let crm = node.crm
        let simple = SurveyDefinition(questions: [.init(id: "overall", text: "总体", type: .scale5, required: true, role: .overall)])
        _ = try await crm.surveys.saveTemplate(.system, id: "bedside-cardio", name: "心血管", purpose: "bedside", diseaseCode: "I", definition: simple)
        _ = try await crm.surveys.saveTemplate(.system, id: "bedside-mi", name: "心梗", purpose: "bedside", diseaseCode: "i21", definition: simple)
        _ = try await crm.surveys.saveTemplate(.system, id: "discharge", name: "出院", purpose: "discharge", diseaseCode: nil, definition: simple)
        await #expect(try crm.surveys.surveyTemplate(purpose: "bedside", diagnosisCode: "I21.9").id == "bedside-mi")
        await #expect(try crm.surveys.surveyTemplate(purpose: "bedside", diagnosisCode: "I10").id == "bedside-cardio")
        await #expect(try crm.surveys.surveyTemplate(purpose: "bedside", diagnosisCode: "K35").id == "bedside")
        await #expect(try crm.surveys.surveyTemplate(purpose: "bedside", diagnosisCode: nil).id == "bedside")
        await #expect(try crm.surveys.surveyTemplate(purpose: "discharge", diagnosisCode: "I21.9").id == "discharge")
        await #expect(throws: CRMError.self) { try await crm.surveys.surveyTemplate(purpose: "kiosk", diagnosisCode: nil) }
    }

    @Test func templateDefinitionsAreValidated() async throws {
        let node = try TestNode(1)
        let bad = SurveyDefinition(questions: [.init(id: "q", text: "?", type: .single, options: [])])
        await #expect(throws: CRMError(.unprocessable, "question 'q': a choice question needs 1–30 options with distinct values")) {
            try await node.crm.surveys.saveTemplate(Staff.manager, id: "t", name: "t", purpose: nil, diseaseCode: nil, definition: bad)
        }
        let badSkip = SurveyDefinition(questions: [.init(id: "a", text: "?", type: .text, showIf: .init(question: "b", equals: ["x"]))])
        await #expect(throws: CRMError.self) { try await node.crm.surveys.saveTemplate(Staff.manager, id: "t", name: "t", purpose: nil, diseaseCode: nil, definition: badSkip) }
        let badRole = SurveyDefinition(questions: [.init(id: "a", text: "?", type: .text, role: .overall)])
        await #expect(throws: CRMError.self) { try await node.crm.surveys.saveTemplate(Staff.manager, id: "t", name: "t", purpose: nil, diseaseCode: nil, definition: badRole) }
        await #expect(throws: CRMError.self) {
            try await node.crm.surveys.saveTemplate(Staff.agent, id: "t", name: "t", purpose: nil, diseaseCode: nil, definition: bedsideDefinition)
        }
    }
}

@Suite("Complaints: lifecycle, notes, working-day deadlines")
struct ComplaintTests {
    @Test func theCalendarKnowsChinas2026HolidaysAndMakeUpWorkingDays() throws {
        let calendar = WorkingCalendar(time: LocalTime())
        #expect(!calendar.isWorkingDay("2026-10-01"))
        #expect(calendar.isWorkingDay("2026-10-10"), "Saturday make-up working day after National Day")
        #expect(calendar.isWorkingDay("2026-02-14"))
        #expect(!calendar.isWorkingDay("2026-02-16"))
        #expect(!calendar.isWorkingDay("2026-11-28"), "an ordinary Saturday")
        // 5 working days from Wed 30 Sep: Oct 8, 9, 10 (Sat, make-up), 12, 13.
        #expect(calendar.adding(workingDays: 5, to: "2026-09-30") == "2026-10-13")
        #expect(calendar.workingDays(from: "2026-09-30", to: "2026-10-13") == 5)
        let local = WorkingCalendar(time: LocalTime(), overrides: ["2026-12-01": false])
        #expect(local.adding(workingDays: 1, to: "2026-11-30") == "2026-12-02")
    }

    @Test func aComplaintMovesForwardWithNotesAndItsDeadlineSkipsHolidays() async throws {
        let clock = TestClock(date: Date(timeIntervalSince1970: 1_790_726_400))  // 2026-09-30 08:00 +08:00
        let node = try TestNode(1, clock: clock)
        try await node.seedOrganisation()
        let id = try await node.crm.complaints.register(
            Staff.agent,
            ComplaintInput(
                patientId: try node.patient("甲"), departmentId: "D-CARD",
                summary: "候诊时间过长", channel: "phone"))
        var complaint = try await node.crm.complaints.complaint(id)
        #expect(complaint.status == .registered)
        #expect(complaint.deadline == "2026-10-13")
        try await node.crm.complaints.advance(Staff.manager, id: id, to: .accepted, note: "已受理")
        try await node.crm.complaints.advance(Staff.manager, id: id, to: .investigating, note: "转心内科核实", departmentId: "D-CARD")
        await #expect(throws: CRMError(.conflict, "complaint '\(id)' is already 'investigating'; its status only moves forward")) {
            try await node.crm.complaints.advance(Staff.manager, id: id, to: .accepted, note: "退回")
        }
        clock.set(Date(timeIntervalSince1970: 1_792_108_800))  // 2026-10-16: past the deadline
        complaint = try await node.crm.complaints.complaint(id)
        #expect(complaint.overdue)
        #expect(complaint.notes.map(\.status) == ["registered", "accepted", "investigating"])
        let ageing = try await node.crm.statistics.complaintAgeing(Staff.manager)
        #expect(ageing.overdue == 1 && ageing.byStatus == ["investigating": 1] && ageing.byAge["6-10"] == 1)
        try await node.crm.complaints.advance(Staff.manager, id: id, to: .closed, note: "已答复患者", resolution: "致歉并改进排班")
        complaint = try await node.crm.complaints.complaint(id)
        #expect(!complaint.overdue && complaint.closedAt != nil)
    }

    @Test func editsOnTwoNodesMergeAlongTheLifecycleKeepingBothNotes() async throws {
        let a = try TestNode(1), b = try TestNode(2)
        try await a.seedOrganisation()
        let id = try await a.crm.complaints.register(Staff.agent, ComplaintInput(summary: "停车难"))
        try a.sync(with: b)
        try await a.crm.complaints.advance(Staff.manager, id: id, to: .handled, note: "已协调车位")
        b.clock.advance(hours: 1)
        try await b.crm.complaints.advance(Staff.agent, id: id, to: .accepted, note: "呼叫中心受理")
        try a.sync(with: b)
        for node in [a, b] {
            let complaint = try await node.crm.complaints.complaint(id)
            #expect(complaint.status == .handled)
            #expect(Set(complaint.notes.map(\.note)) == ["停车难", "已协调车位", "呼叫中心受理"])
        }
        #expect(try a.replica.canonicalDump() == b.replica.canonicalDump())
    }
}
