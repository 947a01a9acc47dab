import CRMDomain
import Foundation
import GRDB
import Replica
import TestSupport
import Testing

/// The reports (by doctor, disease, department, staff; workload; coverage per department), the
/// opinion lists' grading and reporting up, import previews and every export, against small
/// fixtures worked out by hand.
@Suite("Reports, opinion grading, import preview and exports")
struct ReportAndExportTests {
    /// Two stays: 王一 with doctor DR-A for I21.0 in cardiology, 王二 with DR-B for S72.0 in
    /// orthopaedics. 王一 answers twice after admission (5 and 2), 王二 once (4), and an answer
    /// from before 王二's admission belongs to no stay.
    static func hospital() async throws -> (TestNode, first: String, second: String) {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        try await node.crm.organisation.saveReference(.system, .staff, ReferenceItem(id: "DR-A", name: "张医生", departmentId: "D-CARD"))
        try await node.crm.organisation.saveReference(.system, .staff, ReferenceItem(id: "DR-B", name: "李医生", departmentId: "D-ORTH"))
        let first = try await node.patient("王一", phone: "13800000001")
        let second = try await node.patient("王二", phone: "13800000002")
        _ = try await node.crm.encounters.record(
            Staff.manager,
            EncounterInput(
                patientId: first, kind: "inpatient", departmentId: "D-CARD", wardId: "W-CARD", doctorId: "DR-A", diagnosisCode: "I21.0",
                admittedAt: "2026-11-01T08:00:00+08:00"))
        _ = try await node.crm.encounters.record(
            Staff.manager,
            EncounterInput(
                patientId: second, kind: "inpatient", departmentId: "D-ORTH", wardId: "W-ORTH", doctorId: "DR-B", diagnosisCode: "S72.0",
                admittedAt: "2026-11-05T08:00:00+08:00"))
        let answers: [(String, String, Int, String, String)] = [
            ("01JREP00000000000000000001", first, 5, "2026-11-02", "D-CARD"), ("01JREP00000000000000000002", first, 2, "2026-11-03", "D-CARD"),
            ("01JREP00000000000000000003", second, 4, "2026-11-06", "D-ORTH"), ("01JREP00000000000000000004", second, 3, "2026-11-04", "D-ORTH"),
        ]
        for (id, patient, overall, day, department) in answers {
            var submission = bedsideSubmission(id, patient: patient, overall: overall, nps: 9, at: day + "T10:00:00+08:00")
            submission.departmentId = department
            submission.wardId = department == "D-CARD" ? "W-CARD" : "W-ORTH"
            if overall == 2 { submission.opinions = [OpinionInput(kind: .important, text: "夜间噪音", departmentId: department, staffId: "DR-A")] }
            if overall == 4 { submission.opinions = [OpinionInput(kind: .praise, text: "李医生很耐心", departmentId: department, staffId: "DR-B")] }
            submission.staffId = "visitor1"
            _ = try await node.crm.surveys.submit(Staff.manager, submission)
        }
        return (node, first, second)
    }

    static let november = DayRange(from: "2026-11-01", to: "2026-11-30")

    @Test func resultsAreCountedPerDoctorDiseaseAndDepartmentThroughEachAnswersStay() async throws {
        let (node, _, _) = try await Self.hospital()
        let byDoctor = try await node.crm.statistics.results(Staff.manager, range: Self.november, by: .doctor)
        #expect(byDoctor.map { [$0.key, $0.name] } == [["DR-A", "张医生"], ["", ""], ["DR-B", "李医生"]])
        #expect(byDoctor.map { [$0.satisfied, $0.dissatisfied, $0.noOpinion, $0.responses] } == [[1, 1, 0, 2], [0, 0, 1, 1], [1, 0, 0, 1]])
        let byDisease = try await node.crm.statistics.results(Staff.manager, range: Self.november, by: .disease)
        #expect(byDisease.map(\.key) == ["I21.0", "", "S72.0"], "the answer from before 王二's admission belongs to no stay")
        let byDepartment = try await node.crm.statistics.results(Staff.manager, range: Self.november, by: .department)
        #expect(byDepartment.map { "\($0.key) \($0.name) \($0.responses) \($0.satisfied)" } == ["D-CARD 心内科 2 1", "D-ORTH 骨科 2 1"])
        await #expect(try node.crm.statistics.results(Staff.manager, range: DayRange(from: "2026-12-01", to: "2026-12-31"), by: .doctor).isEmpty)
        await #expect(throws: CRMError.self) { try await node.crm.statistics.results(Staff.agent, range: Self.november, by: .doctor) }
        await #expect(throws: CRMError.self) {
            try await node.crm.statistics.results(Staff.manager, range: DayRange(from: "2026-11-30", to: "2026-11-01"), by: .disease)
        }
    }

    @Test func workloadCountsEachPersonsCallsSurveysAndComplaintSteps() async throws {
        let (node, first, second) = try await Self.hospital()
        try await node.crm.accounts.saveUser(.system, username: "agent1", displayName: "赵坐席", role: .agent, password: "correct horse")
        for (patient, outcome) in [(first, FollowUpOutcome.reached), (second, .noAnswer)] {
            let task = try await node.crm.followUps.createTask(Staff.manager, patientId: patient, dueDate: "2026-11-20", note: nil, templateId: nil)
            _ = try await node.crm.followUps.record(Staff.agent, taskId: task, outcome: outcome, note: nil, nextAction: nil)
        }
        let complaint = try await node.crm.complaints.register(Staff.agent, ComplaintInput(patientId: first, departmentId: "D-CARD", summary: "噪音"))
        try await node.crm.complaints.advance(Staff.manager, id: complaint, to: .accepted, note: "受理")
        let work = try await node.crm.statistics.workload(Staff.manager, range: DayRange(from: "2026-11-01", to: node.crm.today()))
        let agent = try #require(work.first { $0.userId == "agent1" })
        #expect([agent.calls, agent.reached, agent.surveys] == [2, 1, 0] && agent.name == "赵坐席")
        let visitor = try #require(work.first { $0.userId == "visitor1" })
        #expect([visitor.calls, visitor.surveys, visitor.complaintSteps] as [Int] == [0, 4, 0])
        #expect(work.contains { $0.userId == "manager1" && $0.complaintSteps >= 1 })
    }

    @Test func coverageIsCountedPerDepartment() async throws {
        let (node, first, second) = try await Self.hospital()
        // The admissions made 24-hour bedside tasks, one per ward; 王一's is done by the survey.
        let tasks = try await node.replica.reader.read { db in
            try Row.fetchAll(db, sql: "SELECT id, patientId, departmentId, dueDate FROM followUpTask ORDER BY patientId")
        }
        #expect(Set(tasks.map { $0["patientId"] as String }) == [first, second])
        let task = try #require(tasks.first { ($0["patientId"] as String) == first })
        _ = try await node.crm.followUps.record(Staff.agent, taskId: task["id"], outcome: .reached, note: nil, nextAction: nil)
        let rows = try await node.crm.statistics.coverageByDepartment(Staff.manager, range: Self.november)
        let cardiology = try #require(rows.first { $0.departmentId == "D-CARD" })
        let orthopaedics = try #require(rows.first { $0.departmentId == "D-ORTH" })
        #expect(cardiology.name == "心内科" && cardiology.due == 1 && cardiology.done == 1)
        #expect(orthopaedics.due == 1 && orthopaedics.done == 0 && orthopaedics.doneRate == 0)
    }

    @Test func managersGradeOpinionsAndReportThemUpOnce() async throws {
        let (node, _, _) = try await Self.hospital()
        let important = try await node.crm.statistics.opinions(Staff.manager, kind: .important, range: Self.november, page: PageRequest(limit: 10))
        let opinion = try #require(important.items.first)
        #expect(opinion.text == "夜间噪音" && opinion.patientId != nil && opinion.escalatedAt == nil)
        // Reporting up: managers only, a note of 1–500 characters, once.
        await #expect(throws: CRMError.self) { try await node.crm.surveys.escalateOpinion(Staff.agent, id: opinion.id, note: "院办") }
        await #expect(throws: CRMError.self) { try await node.crm.surveys.escalateOpinion(Staff.manager, id: opinion.id, note: "  ") }
        await #expect(throws: CRMError.self) { try await node.crm.surveys.escalateOpinion(Staff.manager, id: opinion.id, note: String(repeating: "长", count: 501)) }
        try await node.crm.surveys.escalateOpinion(Staff.manager, id: opinion.id, note: "已报院办")
        await #expect(throws: CRMError(.conflict, "this opinion was already reported up")) {
            try await node.crm.surveys.escalateOpinion(Staff.manager, id: opinion.id, note: "再报")
        }
        await #expect(throws: CRMError.self) { try await node.crm.surveys.escalateOpinion(Staff.manager, id: "nope", note: "x") }
        let reported = try #require(
            try await node.crm.statistics.opinions(Staff.manager, kind: .important, range: Self.november, page: PageRequest(limit: 10)).items.first)
        #expect(reported.escalatedBy == "manager1" && reported.escalationNote == "已报院办" && reported.escalatedAt != nil)
        // Grading moves it between the lists.
        await #expect(throws: CRMError.self) { try await node.crm.surveys.gradeOpinion(Staff.agent, id: opinion.id, kind: .suggestion) }
        try await node.crm.surveys.gradeOpinion(Staff.manager, id: opinion.id, kind: .suggestion)
        await #expect(try node.crm.statistics.opinions(Staff.manager, kind: .important, range: Self.november, page: PageRequest(limit: 10)).items.isEmpty)
        let praise = try await node.crm.statistics.opinions(
            Staff.manager, kind: .praise, range: Self.november, page: PageRequest(limit: 10), departmentId: "D-ORTH", staffId: "DR-B")
        #expect(praise.items.map(\.text) == ["李医生很耐心"])
        await #expect(
            try node.crm.statistics.opinions(Staff.manager, kind: .praise, range: Self.november, page: PageRequest(limit: 10), staffId: "DR-A").items.isEmpty)
        let byStaff = try await node.crm.statistics.opinionsByStaff(Staff.manager, range: Self.november)
        #expect(byStaff.map { "\($0.key) \($0.name) \($0.important) \($0.praise) \($0.suggestion) \($0.escalated)" } == ["DR-A 张医生 0 0 1 1", "DR-B 李医生 0 1 0 0"])
        let audit = try await node.replica.reader.read { db in
            try String.fetchAll(db, sql: "SELECT action FROM auditEntry WHERE action LIKE 'opinion.%' ORDER BY action")
        }
        #expect(audit == ["opinion.escalate", "opinion.grade"])
    }

    @Test func aPreviewChecksEveryLineAndKeepsNothing() async throws {
        let node = try TestNode(1)
        let good = "hisId,name,phone\nP001,王一,13800000001\nP002,王二,13800000002\n"
        let preview = try await node.crm.patients.importCSV(Staff.manager, .patients, text: good, preview: true)
        #expect(!preview.applied && preview.imported == 2 && preview.rejected.isEmpty)
        #expect(try node.replica.statistics().rows["patient"] ?? 0 == 0, "a preview imports nothing")
        let bad = try await node.crm.patients.importCSV(Staff.manager, .patients, text: good + "P003,王三,robot-phone\n", preview: true)
        #expect(!bad.applied && bad.rejected.map(\.line) == [4] && bad.imported == 2)
        #expect(try node.replica.statistics().rows["patient"] ?? 0 == 0)
        await #expect(throws: CRMError.self) { try await node.crm.patients.importCSV(Staff.agent, .patients, text: good, preview: true) }
        let applied = try await node.crm.patients.importCSV(Staff.manager, .patients, text: good)
        #expect(applied.applied && applied.imported == 2)
    }

    @Test func everyDatasetExportsWithHISIdsAndEachExportIsAudited() async throws {
        let (node, first, _) = try await Self.hospital()
        let task = try await node.crm.followUps.createTask(Staff.manager, patientId: first, dueDate: "2026-11-20", note: "复查", templateId: nil)
        _ = try await node.crm.followUps.record(Staff.agent, taskId: task, outcome: .noAnswer, note: "=cmd", nextAction: nil)
        _ = try await node.crm.complaints.register(Staff.agent, ComplaintInput(patientId: first, departmentId: "D-CARD", summary: "候诊太久"))
        _ = try await node.crm.sms.send(Staff.manager, patientId: first, phone: nil, body: "您好，请按时复诊", scheduledAt: nil)
        func lines(_ dataset: ExportDataset) async throws -> [[String]] {
            try CSV.parse(try await node.crm.patients.exportCSV(Staff.manager, dataset)).map(\.fields)
        }
        let tasks = try await lines(.tasks)
        #expect(tasks[0].prefix(4) == ["id", "patientHisId", "kind", "dueDate"])
        #expect(tasks.contains { $0[0] == task && $0[2] == "oneOff" && $0[3] == "2026-11-20" && $0[11] == "noAnswer" })
        let records = try await lines(.followUpRecords)
        #expect(records.count == 2 && records[1][1] == task && records[1][3] == "noAnswer" && records[1][4] == "'=cmd", "formulas stay text")
        let complaints = try await lines(.complaints)
        #expect(complaints.count == 2 && complaints[1][3] == "候诊太久" && complaints[1][4] == "registered")
        let opinions = try await lines(.opinions)
        #expect(opinions.count == 3 && Set(opinions.dropFirst().map { $0[3] }) == ["important", "praise"])
        let sms = try await lines(.sms)
        #expect(sms.count == 2 && sms[1][2] == "13800000001" && sms[1][3] == "您好，请按时复诊" && sms[1][6] == "queued")
        await #expect(throws: CRMError.self) { try await node.crm.patients.exportCSV(Staff.agent, .sms) }
        let audit = try await node.replica.reader.read { db in
            try String.fetchAll(db, sql: "SELECT entity || ' ' || entityId FROM auditEntry WHERE action = 'export' ORDER BY id")
        }
        #expect(Set(audit) == ["tasks 3 rows", "followUpRecords 1 rows", "complaints 1 rows", "opinions 2 rows", "sms 1 rows"])
    }

    @Test func aSurveyExportHasAColumnPerQuestionLabelledWithItsText() async throws {
        let (node, first, _) = try await Self.hospital()
        // Version 2 rewords a question and adds one; version 1's answers leave the new column empty.
        var questions = bedsideDefinition.questions
        questions[0].text = "您对本次住院的总体满意度"
        questions.append(.init(id: "again", text: "是否愿意再来", type: .single, options: [.init(value: "y", label: "愿意"), .init(value: "n", label: "不愿意")]))
        _ = try await node.crm.surveys.saveTemplate(
            .system, id: "bedside", name: "入院床边探访", purpose: "bedside", diseaseCode: nil, definition: SurveyDefinition(questions: questions))
        _ = try await node.crm.surveys.submit(
            Staff.manager,
            SurveySubmission(
                id: "01JREP00000000000000000009", templateId: "bedside", templateVersion: 2, patientId: first, wardId: "W-CARD",
                departmentId: "D-CARD", mode: .bedside, submittedAt: "2026-11-09T10:00:00+08:00",
                answers: [
                    "overall": .number(5), "nps": .number(10), "complained": .string("yes"), "what": .array([.string("food"), .string("noise")]),
                    "again": .string("y"),
                ]))
        let table = try CSV.parse(try await node.crm.patients.exportSurvey(Staff.manager, templateId: "bedside")).map(\.fields)
        #expect(
            table[0] == [
                "id", "submittedAt", "mode", "patientHisId", "wardId", "departmentId", "staffId", "templateVersion", "您对本次住院的总体满意度", "推荐意愿",
                "是否有不满", "哪些方面", "意见建议", "是否愿意再来",
            ])
        #expect(table.count == 6)
        let last = try #require(table.last)
        #expect(last[0] == "01JREP00000000000000000009" && Array(last[8...]) == ["5", "10", "有", "伙食; 噪音", "", "愿意"])
        #expect(table[1][10] == "无" && table[1][13] == "", "a version 1 answer has no value for the new question")
        await #expect(throws: CRMError.self) { try await node.crm.patients.exportSurvey(Staff.manager, templateId: "missing") }
        await #expect(throws: CRMError.self) { try await node.crm.patients.exportSurvey(Staff.agent, templateId: "bedside") }
    }
}
