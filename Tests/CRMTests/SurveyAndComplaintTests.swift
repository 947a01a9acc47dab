import CRMDomain
import Foundation
import GRDB
import Replica
import Testing

@Suite("Surveys: templates, validation, idempotent submission")
struct SurveyTests {
    @Test func answersAreCheckedAgainstTheTemplateVersionTheyWereCapturedWith() throws {
        let node = try TestNode(1)
        try node.seedOrganisation()
        let patient = try node.patient("甲")
        func submit(_ answers: [String: JSONValue], id: String = "01JSURVEY000000000000001", version: Int = 1) throws {
            var submission = bedsideSubmission(id, patient: patient, overall: 5, nps: 9)
            submission.answers = answers
            submission.templateVersion = version
            _ = try node.crm.submitResponse(Staff.visitor, submission)
        }
        let base: [String: JSONValue] = ["overall": .number(4), "nps": .number(9), "complained": .string("no")]
        #expect(throws: CRMError(.invalid, "answers: question 'overall' is required")) { try submit(base.filter { $0.key != "overall" }) }
        #expect(throws: CRMError(.invalid, "answers: question 'overall' needs an integer from 1 to 5")) { try submit(base.merging(["overall": .number(6)]) { $1 }) }
        #expect(throws: CRMError(.invalid, "answers: question 'nps' needs an integer from 0 to 10")) { try submit(base.merging(["nps": .number(7.5)]) { $1 }) }
        #expect(throws: CRMError(.invalid, "answers: question 'complained' needs one of its options")) { try submit(base.merging(["complained": .string("maybe")]) { $1 }) }
        #expect(throws: CRMError(.invalid, "answers: 'bogus' is not a question of this template version")) { try submit(base.merging(["bogus": .number(1)]) { $1 }) }
        // Skip logic: 'what' only when complained = yes, and then it is required.
        #expect(throws: CRMError(.invalid, "answers: question 'what' is skipped by the answer to 'complained'")) {
            try submit(base.merging(["what": .array([.string("food")])]) { $1 })
        }
        #expect(throws: CRMError(.invalid, "answers: question 'what' is required")) { try submit(base.merging(["complained": .string("yes")]) { $1 }) }
        #expect(throws: CRMError(.invalid, "answers: question 'what' needs a list of distinct options")) {
            try submit(base.merging(["complained": .string("yes"), "what": .array([.string("food"), .string("food")])]) { $1 })
        }
        try submit(base.merging(["complained": .string("yes"), "what": .array([.string("food"), .string("noise")])]) { $1 })

        // Version 2 drops 'complained'/'what'; a tablet still on version 1 is checked against version 1.
        var definition = bedsideDefinition
        definition.questions.removeAll { $0.id == "complained" || $0.id == "what" }
        #expect(try node.crm.saveTemplate(Staff.manager, id: "bedside", name: "入院床边探访", purpose: "bedside", diseaseCode: nil, definition: definition) == 2)
        try submit(base, id: "01JSURVEY000000000000002", version: 1)
        #expect(throws: CRMError.self) { try submit(base, id: "01JSURVEY000000000000003", version: 2) }
        try submit(["overall": .number(3), "nps": .number(5)], id: "01JSURVEY000000000000003", version: 2)
        #expect(throws: CRMError(.notFound, "no template version with id 'bedside:3'")) { try submit(base, id: "01JSURVEY000000000000004", version: 3) }
    }

    @Test func resubmittingTheSameResponseIsAcceptedOnceAndDifferentContentIsRefused() throws {
        let node = try TestNode(1)
        try node.seedOrganisation()
        let patient = try node.patient("甲")
        var submission = bedsideSubmission("01JSAME00000000000000001", patient: patient, overall: 5, nps: 10)
        submission.opinions = [OpinionInput(kind: .praise, text: "护士很耐心", departmentId: "D-CARD", staffId: "N-7")]
        #expect(try node.crm.submitResponse(Staff.visitor, submission).created)
        #expect(try !node.crm.submitResponse(Staff.visitor, submission).created)
        var changed = submission
        changed.answers["overall"] = .number(1)
        #expect(throws: CRMError(.conflict, "response '01JSAME00000000000000001' was already submitted with different content")) {
            try node.crm.submitResponse(Staff.visitor, changed)
        }
        let archive = try node.crm.archive(Staff.agent, patientId: patient)
        #expect(archive.surveyResponses.count == 1)
        #expect(archive.surveyResponses[0].overall == 5 && archive.surveyResponses[0].recommend == 10)
        #expect(archive.opinions.map(\.kind) == ["praise"])
        #expect(throws: CRMError.self) { try node.crm.submitResponse(Staff.admin, submission) }
    }

    @Test func aBedsideResponseOnATaskCompletesTheTask() throws {
        let node = try TestNode(1)
        try node.seedOrganisation()
        let patient = try node.patient("甲")
        let encounter = try node.crm.recordEncounter(
            Staff.visitor,
            EncounterInput(
                patientId: patient, kind: "inpatient", departmentId: "D-CARD",
                wardId: "W-CARD", admittedAt: "2026-11-23T08:00:00+08:00"))
        let task = try #require(node.crm.wardPatients(Staff.visitor, wardId: "W-CARD").first?.bedsideTaskId)
        var submission = bedsideSubmission("01JBEDSIDE00000000000001", patient: patient, overall: 4, nps: 8)
        submission.taskId = task
        _ = try node.crm.submitResponse(Staff.visitor, submission)
        #expect(try node.crm.task(task).doneAt != nil)
        #expect(try node.crm.wardPatients(Staff.visitor, wardId: "W-CARD").first?.bedsideVisitDue == false)
        _ = encounter
    }

    @Test func aPatientsDiagnosisPicksThePerDiseaseTemplateWithTheLongestMatchingCode() throws {
        let node = try TestNode(1)
        try node.seedOrganisation()  // "bedside", for every disease
        let crm = node.crm
        let simple = SurveyDefinition(questions: [.init(id: "overall", text: "总体", type: .scale5, required: true, role: .overall)])
        _ = try crm.saveTemplate(.system, id: "bedside-cardio", name: "心血管", purpose: "bedside", diseaseCode: "I", definition: simple)
        _ = try crm.saveTemplate(.system, id: "bedside-mi", name: "心梗", purpose: "bedside", diseaseCode: "i21", definition: simple)
        _ = try crm.saveTemplate(.system, id: "discharge", name: "出院", purpose: "discharge", diseaseCode: nil, definition: simple)
        #expect(try crm.surveyTemplate(purpose: "bedside", diagnosisCode: "I21.9").id == "bedside-mi")
        #expect(try crm.surveyTemplate(purpose: "bedside", diagnosisCode: "I10").id == "bedside-cardio")
        #expect(try crm.surveyTemplate(purpose: "bedside", diagnosisCode: "K35").id == "bedside")
        #expect(try crm.surveyTemplate(purpose: "bedside", diagnosisCode: nil).id == "bedside")
        #expect(try crm.surveyTemplate(purpose: "discharge", diagnosisCode: "I21.9").id == "discharge")
        #expect(throws: CRMError.self) { try crm.surveyTemplate(purpose: "kiosk", diagnosisCode: nil) }
    }

    @Test func templateDefinitionsAreValidated() throws {
        let node = try TestNode(1)
        let bad = SurveyDefinition(questions: [.init(id: "q", text: "?", type: .single, options: [])])
        #expect(throws: CRMError(.invalid, "question 'q': a choice question needs 1–30 options with distinct values")) {
            try node.crm.saveTemplate(Staff.manager, id: "t", name: "t", purpose: nil, diseaseCode: nil, definition: bad)
        }
        let badSkip = SurveyDefinition(questions: [.init(id: "a", text: "?", type: .text, showIf: .init(question: "b", equals: ["x"]))])
        #expect(throws: CRMError.self) { try node.crm.saveTemplate(Staff.manager, id: "t", name: "t", purpose: nil, diseaseCode: nil, definition: badSkip) }
        let badRole = SurveyDefinition(questions: [.init(id: "a", text: "?", type: .text, role: .overall)])
        #expect(throws: CRMError.self) { try node.crm.saveTemplate(Staff.manager, id: "t", name: "t", purpose: nil, diseaseCode: nil, definition: badRole) }
        #expect(throws: CRMError.self) { try node.crm.saveTemplate(Staff.agent, id: "t", name: "t", purpose: nil, diseaseCode: nil, definition: bedsideDefinition) }
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

    @Test func aComplaintMovesForwardWithNotesAndItsDeadlineSkipsHolidays() throws {
        let clock = TestClock(Date(timeIntervalSince1970: 1_790_726_400))  // 2026-09-30 08:00 +08:00
        let node = try TestNode(1, clock: clock)
        try node.seedOrganisation()
        let id = try node.crm.registerComplaint(
            Staff.agent,
            ComplaintInput(
                patientId: try node.patient("甲"), departmentId: "D-CARD",
                summary: "候诊时间过长", channel: "phone"))
        var complaint = try node.crm.complaint(id)
        #expect(complaint.status == .registered)
        #expect(complaint.deadline == "2026-10-13")
        try node.crm.advanceComplaint(Staff.manager, id: id, to: .accepted, note: "已受理")
        try node.crm.advanceComplaint(Staff.manager, id: id, to: .investigating, note: "转心内科核实", departmentId: "D-CARD")
        #expect(throws: CRMError(.conflict, "complaint '\(id)' is already 'investigating'; its status only moves forward")) {
            try node.crm.advanceComplaint(Staff.manager, id: id, to: .accepted, note: "退回")
        }
        clock.set(Date(timeIntervalSince1970: 1_792_108_800))  // 2026-10-16: past the deadline
        complaint = try node.crm.complaint(id)
        #expect(complaint.overdue)
        #expect(complaint.notes.map(\.status) == ["registered", "accepted", "investigating"])
        let ageing = try node.crm.complaintAgeing(Staff.manager)
        #expect(ageing.overdue == 1 && ageing.byStatus == ["investigating": 1] && ageing.byAge["6-10"] == 1)
        try node.crm.advanceComplaint(Staff.manager, id: id, to: .closed, note: "已答复患者", resolution: "致歉并改进排班")
        complaint = try node.crm.complaint(id)
        #expect(!complaint.overdue && complaint.closedAt != nil)
    }

    @Test func editsOnTwoNodesMergeAlongTheLifecycleKeepingBothNotes() throws {
        let a = try TestNode(1), b = try TestNode(2)
        try a.seedOrganisation()
        let id = try a.crm.registerComplaint(Staff.agent, ComplaintInput(summary: "停车难"))
        try a.sync(with: b)
        try a.crm.advanceComplaint(Staff.manager, id: id, to: .handled, note: "已协调车位")
        b.clock.advance(hours: 1)
        try b.crm.advanceComplaint(Staff.agent, id: id, to: .accepted, note: "呼叫中心受理")
        try a.sync(with: b)
        for node in [a, b] {
            let complaint = try node.crm.complaint(id)
            #expect(complaint.status == .handled)
            #expect(Set(complaint.notes.map(\.note)) == ["停车难", "已协调车位", "呼叫中心受理"])
        }
        #expect(try a.replica.canonicalDump() == b.replica.canonicalDump())
    }
}
