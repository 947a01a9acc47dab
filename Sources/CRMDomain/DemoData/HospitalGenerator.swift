import Foundation
import GRDB
import Replica

/// What the generator made.
public struct DemoHospitalSummary: Codable, Sendable {
    public var departments = 0
    public var wards = 0
    public var staff = 0
    public var patients = 0
    public var encounters = 0
    public var responses = 0
    public var complaints = 0
    public var consultations = 0
    public var appointments = 0
    public var tasksClosed = 0
    /// user name → (role, password).
    public var logins: [String: String] = [:]
}

/// A realistic, invented hospital for the demo and the benchmarks, the same for the same seed:
/// departments and wards, staff, accounts of every role, survey templates, follow-up rules, SMS
/// templates, patients with admissions and discharges over the last months, bedside and phone
/// surveys with opinions, worked follow-up tasks, complaints at every stage, consultations and
/// appointments. Bulk data goes through the CSV importer, so it is validated like a real HIS feed.
public struct HospitalGenerator: Sendable {
    public var seed: UInt64
    public var patients: Int
    /// The demo accounts' password (every demo account has the same one).
    public var password: String

    public init(seed: UInt64 = 1, patients: Int = 10_000, password: String = "suifang-demo") {
        self.seed = seed
        self.patients = patients
        self.password = password
    }

    /// Loads the hospital into a node's replica through `crm`. Meant for an empty central node.
    public func load(into crm: CRM) async throws -> DemoHospitalSummary {
        var random = DemoRandom(seed: seed)
        var summary = DemoHospitalSummary()
        try await organisation(crm, &summary)
        try await accounts(crm, &summary)
        try await templatesAndRules(crm)
        let today = crm.today()
        let (patientLines, patientIDs) = patientFile(&random)
        try await importInFiles(crm, .patients, columns: Self.patientColumns, lines: patientLines)
        summary.patients = patientIDs.count
        let encounters = encounterLines(&random, patients: patientIDs, today: today, time: crm.time)
        try await importInFiles(crm, .encounters, columns: Self.encounterColumns, lines: encounters.map(\.csv))
        summary.encounters = encounters.count
        let responses = responseLines(&random, encounters: encounters, now: crm.now(), time: crm.time)
        try await importInFiles(crm, .responses, columns: Self.responseColumns, lines: responses.map(\.csv))
        summary.responses = responses.count
        try opinions(crm, &random, responses: responses)
        summary.tasksClosed = try workTasks(crm, &random, today: today, responses: responses)
        try await service(crm, &random, patients: patientIDs, summary: &summary)
        return summary
    }

    // MARK: - Organisation, accounts, templates

    private func organisation(_ crm: CRM, _ summary: inout DemoHospitalSummary) async throws {
        try await crm.organisation.setSetting(.system, key: "hospitalName", value: "随访示范医院")
        for department in DemoCatalogue.departments {
            try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: department.id, name: department.name, code: String(department.id.dropFirst(2))))
            for number in 1...2 {
                let ward = Self.ward(department, number)
                try await crm.organisation.saveReference(
                    .system, .ward, ReferenceItem(id: ward, name: "\(department.name)\(number == 1 ? "一" : "二")病区", departmentId: department.id))
                summary.wards += 1
            }
            for (code, name) in department.diseases { try await crm.organisation.saveReference(.system, .disease, ReferenceItem(id: code, name: name)) }
            for index in 1...6 {
                let id = "\(department.id)-S\(index)"
                try await crm.organisation.saveReference(
                    .system, .staff,
                    ReferenceItem(
                        id: id, name: "\(department.name)\(index <= 3 ? "医生" : "护士")\(index)",
                        departmentId: department.id, title: index <= 3 ? "doctor" : "nurse"))
                summary.staff += 1
            }
            summary.departments += 1
        }
    }

    static func ward(_ department: DemoCatalogue.Department, _ number: Int) -> String { "W-\(department.id.dropFirst(2))-\(number)" }

    private func accounts(_ crm: CRM, _ summary: inout DemoHospitalSummary) async throws {
        let accounts: [(String, String, Role, String?)] = [
            ("admin", "系统管理员", .admin, nil), ("manager", "医患关系管理中心", .manager, nil),
            ("agent1", "坐席一", .agent, nil), ("agent2", "坐席二", .agent, nil),
            ("nurse-card", "心内一病区探访员", .visitor, "W-CARD-1"), ("nurse-orth", "骨科一病区探访员", .visitor, "W-ORTH-1"),
        ]
        for (name, display, role, ward) in accounts {
            try await crm.accounts.saveUser(.system, username: name, displayName: display, role: role, password: password, wardId: ward)
            summary.logins[name] = role.rawValue
        }
    }

    /// The bedside survey the demo hospital and the benchmarks use.
    public static let bedsideDefinition = SurveyDefinition(questions: [
        .init(id: "overall", text: "您对本次住院的总体满意度", type: .scale5, required: true, role: .overall),
        .init(id: "nursing", text: "护理服务", type: .scale5, required: true),
        .init(
            id: "environment", text: "病房环境", type: .single,
            options: [.init(value: "good", label: "好"), .init(value: "fair", label: "一般"), .init(value: "poor", label: "差")], required: true),
        .init(
            id: "issues", text: "哪些方面需要改进", type: .multiple,
            options: [.init(value: "food", label: "伙食"), .init(value: "noise", label: "噪音"), .init(value: "waiting", label: "等候"), .init(value: "cleaning", label: "清洁")],
            showIf: .init(question: "environment", equals: ["fair", "poor"])),
        .init(id: "recommend", text: "您有多大可能向亲友推荐本院（0–10）", type: .nps, required: true, role: .recommend),
        .init(id: "comment", text: "其他意见和建议", type: .text, maxLength: 500),
    ])

    static let phoneDefinition = SurveyDefinition(questions: [
        .init(id: "overall", text: "您对住院期间的服务是否满意", type: .scale5, required: true, role: .overall),
        .init(
            id: "recovery", text: "出院后恢复情况", type: .single,
            options: [.init(value: "good", label: "良好"), .init(value: "fair", label: "一般"), .init(value: "poor", label: "较差")], required: true),
        .init(id: "medication", text: "是否按医嘱服药", type: .single, options: [.init(value: "yes", label: "是"), .init(value: "no", label: "否")]),
        .init(id: "recommend", text: "推荐意愿（0–10）", type: .nps, required: true, role: .recommend),
        .init(id: "comment", text: "意见建议", type: .text, maxLength: 500),
    ])

    /// What a department's kiosk asks a walk-in patient.
    static let kioskDefinition = SurveyDefinition(questions: [
        .init(id: "overall", text: "您对今天的就诊是否满意", type: .scale5, required: true, role: .overall),
        .init(
            id: "waiting", text: "候诊时间", type: .single,
            options: [.init(value: "short", label: "不长"), .init(value: "ok", label: "可以接受"), .init(value: "long", label: "太长")], required: true),
        .init(id: "recommend", text: "推荐意愿（0–10）", type: .nps, role: .recommend),
    ])

    private func templatesAndRules(_ crm: CRM) async throws {
        _ = try await crm.surveys.saveTemplate(.system, id: "bedside", name: "入院24小时床边探访", purpose: "bedside", diseaseCode: nil, definition: Self.bedsideDefinition)
        _ = try await crm.surveys.saveTemplate(.system, id: "discharge", name: "出院72小时电话回访", purpose: "discharge", diseaseCode: nil, definition: Self.phoneDefinition)
        _ = try await crm.surveys.saveTemplate(.system, id: "kiosk", name: "门诊自助机满意度", purpose: "kiosk", diseaseCode: nil, definition: Self.kioskDefinition)
        _ = try await crm.followUps.saveRule(
            .system,
            FollowUpRule(
                name: "心内科出院随访（1/3/7/30天）", kind: .fixedOffset, triggerEvent: .discharge, offsets: [1, 3, 7, 30],
                filter: RuleFilter(departments: ["D-CARD"], dischargeStatuses: [.cured, .improved, .unchanged]), templateId: "discharge"))
        _ = try await crm.followUps.saveRule(
            .system,
            FollowUpRule(
                name: "骨科术后每月随访", kind: .periodic, triggerEvent: .discharge, intervalDays: 30, repeatCount: 3,
                filter: RuleFilter(departments: ["D-ORTH"], minStayDays: 5), templateId: "discharge"))
        _ = try await crm.followUps.saveRule(
            .system,
            FollowUpRule(
                name: "糖尿病季度随访", kind: .periodic, triggerEvent: .discharge, intervalDays: 90, repeatCount: 4,
                filter: RuleFilter(diagnosisPrefixes: ["E11"]), templateId: "discharge"))
        try await crm.sms.saveTemplate(.system, SMSTemplate(id: "care", name: "出院关怀", kind: "followup", body: "{name}您好，{hospital}{department}提醒您按时复查，祝早日康复。回T退订"))
        try await crm.sms.saveTemplate(.system, SMSTemplate(id: "birthday", name: "生日祝福", kind: "birthday", body: "{name}您好，{hospital}祝您生日快乐、身体健康！回T退订"))
        try await crm.sms.saveTemplate(.system, SMSTemplate(id: "holiday", name: "节日问候", kind: "holiday", body: "{name}您好，{hospital}祝您{holiday}快乐！回T退订"))
        try await crm.sms.saveTemplate(
            .system,
            SMSTemplate(
                id: CRM.SMS.appointmentReminderTemplate, name: "预约提醒", kind: "appointment",
                body: "{name}您好，您已预约{date} {time}{department}就诊，请按时到院。回T退订"))
    }

    // MARK: - Patients, encounters, responses

    static let patientColumns = ["hisId", "name", "gender", "birthDate", "idNumber", "phone", "address", "region", "category"]

    /// The demo's patients as CSV lines (under ``patientColumns``), and their HIS ids.
    private func patientFile(_ random: inout DemoRandom) -> ([String], [String]) {
        var lines: [String] = []
        var ids: [String] = []
        for index in 0..<patients {
            let his = String(format: "P%07d", index + 1)
            let female = random.chance(0.5)
            let given = random.pick(DemoCatalogue.givenCharacters) + (random.chance(0.6) ? random.pick(DemoCatalogue.givenCharacters) : "")
            let year = random.int(1935...2020), month = random.int(1...12), day = random.int(1...28)
            let birth = String(format: "%04d-%02d-%02d", year, month, day)
            let idNumber = String(
                format: "350%03d%04d%02d%02d%03d%@", random.int(100...199), year, month, day, random.int(0...999), random.chance(0.1) ? "X" : String(random.int(0...9)))
            let phone = "1" + random.pick(["38", "39", "59", "86", "37", "58"]) + String(format: "%08d", random.int(0...99_999_999))
            let region = random.pick(DemoCatalogue.regions)
            lines.append(
                CSV.line([
                    his, random.pick(DemoCatalogue.surnames) + given, female ? "female" : "male", birth, idNumber, phone,
                    "\(region)\(random.pick(DemoCatalogue.streets))\(random.int(1...300))号", region, random.pick(DemoCatalogue.categories),
                ]))
            ids.append(his)
        }
        return (lines, ids)
    }

    struct EncounterLine {
        var his: String
        var patient: String
        var department: DemoCatalogue.Department
        var ward: String
        var admitted: Date
        var discharged: Date?
        var csv: String
    }

    static let encounterColumns = ["hisId", "patientHisId", "kind", "departmentId", "wardId", "doctorId", "diagnosisCode", "admittedAt", "dischargedAt", "dischargeStatus"]
    static let responseColumns = ["id", "templateId", "templateVersion", "patientHisId", "wardId", "departmentId", "mode", "staffId", "submittedAt", "answers"]

    private func encounterLines(_ random: inout DemoRandom, patients: [String], today: String, time: LocalTime) -> [EncounterLine] {
        guard let components = time.parseDay(today), var calendar = Optional(Calendar(identifier: .gregorian)) else { return [] }
        calendar.timeZone = time.timeZone
        let midnight = calendar.date(from: components)!
        var lines: [EncounterLine] = []
        for (index, patient) in patients.enumerated() where index % 10 < 8 {
            let count = random.chance(0.2) ? 2 : 1
            for visit in 0..<count {
                let department = random.pick(DemoCatalogue.departments)
                let ward = Self.ward(department, random.int(1...2))
                let admitted = midnight.addingTimeInterval(-Double(random.int(0...150)) * 86_400 + Double(random.int(7 * 60...20 * 60)) * 60)
                let stay = Double(random.int(2...18)) * 86_400 + Double(random.int(0...6 * 60)) * 60
                let dischargedAt = admitted.addingTimeInterval(stay)
                let discharged: Date? = dischargedAt < midnight ? dischargedAt : nil
                let his = String(format: "ZY%07d-%d", index + 1, visit)
                let status = random.chance(0.01) ? "died" : random.pick(["cured", "improved", "improved", "unchanged"])
                let disease = random.pick(department.diseases).code
                let csv = CSV.line([
                    his, patient, "inpatient", department.id, ward, "\(department.id)-S\(random.int(1...3))", disease,
                    time.timestamp(admitted), discharged.map(time.timestamp), discharged == nil ? nil : status,
                ])
                lines.append(EncounterLine(his: his, patient: patient, department: department, ward: ward, admitted: admitted, discharged: discharged, csv: csv))
            }
        }
        return lines
    }

    struct ResponseLine {
        var id: String
        var patient: String
        var encounter: String
        var mode: String
        var overall: Int
        var department: DemoCatalogue.Department
        var ward: String
        var at: String
        var csv: String
    }

    private func responseLines(_ random: inout DemoRandom, encounters: [EncounterLine], now: Date, time: LocalTime) -> [ResponseLine] {
        var lines: [ResponseLine] = []
        func score(_ mood: Double, _ random: inout DemoRandom) -> Int {
            let value = mood + Double.random(in: -1.6...1.2, using: &random)
            return min(5, max(1, Int(value.rounded())))
        }
        for (index, encounter) in encounters.enumerated() {
            if random.chance(0.8), encounter.admitted.addingTimeInterval(6 * 3600) < now {
                let overall = score(encounter.department.mood, &random)
                let environment = overall >= 4 ? "good" : random.pick(["fair", "poor"])
                var answers: [String: JSONValue] = [
                    "overall": .number(Double(overall)), "nursing": .number(Double(score(encounter.department.mood + 0.2, &random))),
                    "environment": .string(environment), "recommend": .number(Double(min(10, max(0, overall * 2 + random.int(-2...1))))),
                ]
                if environment != "good" { answers["issues"] = .array([.string(random.pick(["food", "noise", "waiting", "cleaning"]))]) }
                let at = time.timestamp(encounter.admitted.addingTimeInterval(Double(random.int(2 * 60...22 * 60)) * 60))
                let id = String(format: "01DEMOBED%015d", index)
                lines.append(
                    ResponseLine(
                        id: id, patient: encounter.patient, encounter: encounter.his, mode: "bedside", overall: overall,
                        department: encounter.department, ward: encounter.ward, at: at,
                        csv: CSV.line([
                            id, "bedside", "1", encounter.patient, encounter.ward, encounter.department.id, "bedside",
                            "nurse-\(encounter.ward.lowercased())", at, JSONValue.object(answers).canonicalText,
                        ])))
            }
            if let discharged = encounter.discharged, random.chance(0.65) {
                let overall = score(encounter.department.mood, &random)
                let answers: [String: JSONValue] = [
                    "overall": .number(Double(overall)), "recovery": .string(random.pick(["good", "good", "fair", "poor"])),
                    "medication": .string(random.chance(0.9) ? "yes" : "no"),
                    "recommend": .number(Double(min(10, max(0, overall * 2 + random.int(-2...1))))),
                ]
                let callAt = discharged.addingTimeInterval(Double(random.int(20...70)) * 3600)
                guard callAt < now else { continue }
                let at = time.timestamp(callAt)
                let id = String(format: "01DEMOTEL%015d", index)
                lines.append(
                    ResponseLine(
                        id: id, patient: encounter.patient, encounter: encounter.his, mode: "phone", overall: overall,
                        department: encounter.department, ward: encounter.ward, at: at,
                        csv: CSV.line([
                            id, "discharge", "1", encounter.patient, encounter.ward, encounter.department.id, "phone",
                            random.pick(["agent1", "agent2"]), at, JSONValue.object(answers).canonicalText,
                        ])))
            }
        }
        return lines
    }

    /// Lines per imported file. One file is one commit, and a commit is bounded in bytes (peers
    /// take it whole: ``Replica/maximumCommitBytes``); 10,000 patients in one file passed it.
    static let linesPerFile = 2_000

    /// Imports `lines` (under `columns`) in files of at most ``linesPerFile`` lines, each checked
    /// and applied whole, as a hospital's IT staff would split an export.
    private func importInFiles(_ crm: CRM, _ dataset: CSVDataset, columns: [String], lines: [String]) async throws {
        for start in stride(from: 0, to: lines.count, by: Self.linesPerFile) {
            try await importOrFail(crm, dataset, CSV.line(columns) + lines[start..<min(start + Self.linesPerFile, lines.count)].joined())
        }
    }

    private func importOrFail(_ crm: CRM, _ dataset: CSVDataset, _ text: String) async throws {
        let report = try await crm.patients.importCSV(.system, dataset, text: text)
        guard report.applied else {
            throw CRMError.invalid(
                "demo \(dataset.rawValue) import rejected \(report.rejected.count) lines, first: \(report.rejected.first.map { "line \($0.line): \($0.reason)" } ?? "")")
        }
    }

    // MARK: - Opinions, worked tasks, service records

    private func opinions(_ crm: CRM, _ random: inout DemoRandom, responses: [ResponseLine]) throws {
        var picked: [(ResponseLine, OpinionInput)] = []
        for response in responses {
            if response.overall == 5, random.chance(0.12) {
                picked.append(
                    (
                        response,
                        OpinionInput(
                            kind: .praise, text: random.pick(DemoCatalogue.praise), departmentId: response.department.id,
                            staffId: "\(response.department.id)-S\(random.int(1...6))")
                    ))
            } else if response.overall <= 2, random.chance(0.6) {
                picked.append((response, OpinionInput(kind: .important, text: random.pick(DemoCatalogue.complaints), departmentId: response.department.id)))
            } else if random.chance(0.03) {
                picked.append((response, OpinionInput(kind: .suggestion, text: random.pick(DemoCatalogue.suggestions), departmentId: response.department.id)))
            }
        }
        try crm.replica.write { tx in
            for (index, (response, opinion)) in picked.enumerated() {
                try tx.insert(
                    OpinionRecord(
                        id: "\(response.id)-\(index)", responseId: response.id, patientId: "his-" + response.patient, kind: opinion.kind.rawValue,
                        text: opinion.text, departmentId: opinion.departmentId, staffId: opinion.staffId, wardId: response.ward, mode: response.mode,
                        at: response.at))
            }
        }
    }

    /// Past tasks were worked: most reached (with the phone survey where there is one), some not.
    /// The last two days' tasks stay open, so today's queue has due and overdue work.
    private func workTasks(_ crm: CRM, _ random: inout DemoRandom, today: String, responses: [ResponseLine]) throws -> Int {
        guard let cutoff = crm.time.day(today, plus: -2) else { return 0 }
        let phoneResponse = Dictionary(responses.filter { $0.mode == "phone" }.map { ("his-" + $0.encounter, $0.id) }, uniquingKeysWith: { a, _ in a })
        let bedsideResponse = Dictionary(responses.filter { $0.mode == "bedside" }.map { ("his-" + $0.encounter, $0.id) }, uniquingKeysWith: { a, _ in a })
        let tasks = try crm.replica.reader.read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, kind, encounterId, dueDate, wardId FROM followUpTask WHERE dueDate < ? AND doneAt IS NULL AND withdrawn IS NOT 1 ORDER BY id",
                arguments: [cutoff])
        }
        var closed = 0
        for chunk in stride(from: 0, to: tasks.count, by: 2000) {
            let slice = tasks[chunk..<min(chunk + 2000, tasks.count)]
            var plan: [(String, FollowUpOutcome, String?, Caller, String)] = []
            for task in slice {
                let kind: String = task["kind"], encounter: String? = task["encounterId"], due: String = task["dueDate"]
                let caller: Caller =
                    kind == "bedside24h" ? Caller(userId: "nurse-card", role: .visitor, wardId: task["wardId"]) : Caller(userId: random.pick(["agent1", "agent2"]), role: .agent)
                var outcome = FollowUpOutcome.reached
                let roll = Double.random(in: 0..<1, using: &random)
                if roll > 0.97 { outcome = .refused } else if roll > 0.94 { outcome = .wrongNumber } else if roll > 0.88 { outcome = .noAnswer }
                let response = encounter.flatMap { kind == "bedside24h" ? bedsideResponse[$0] : (kind == "discharge72h" ? phoneResponse[$0] : nil) }
                plan.append((task["id"], outcome, outcome == .reached ? response : nil, caller, due + "T16:00:00" + String(crm.timestamp().suffix(6))))
            }
            try crm.replica.write { tx in
                for (id, outcome, response, caller, at) in plan {
                    _ = try crm.followUps.record(tx, caller, taskId: id, outcome: outcome, note: nil, nextAction: nil, responseId: response, retryOn: nil, at: at)
                }
            }
            closed += plan.count
        }
        return closed
    }

    private func service(_ crm: CRM, _ random: inout DemoRandom, patients: [String], summary: inout DemoHospitalSummary) async throws {
        let agent = Caller(userId: "agent1", role: .agent), manager = Caller(userId: "manager", role: .manager)
        for index in 0..<min(120, patients.count / 50) {
            let department = random.pick(DemoCatalogue.departments)
            // Registered over the last three weeks, so the board has overdue ones and the ageing chart a spread.
            let registered = crm.now().addingTimeInterval(-Double(random.int(0...21)) * 86_400 - Double(random.int(0...8 * 3600)))
            let id = try await crm.complaints.register(
                agent,
                ComplaintInput(
                    patientId: "his-" + random.pick(patients), departmentId: department.id,
                    summary: random.pick(DemoCatalogue.complaints), channel: random.pick(["phone", "visit", "online"])),
                at: registered)
            let stages = ComplaintStatus.allCases.dropFirst().prefix(index % 5)
            for stage in stages {
                try await crm.complaints.advance(
                    manager, id: id, to: stage, note: "\(stage.rawValue)：已跟进", departmentId: department.id,
                    resolution: stage == .closed ? "已向患者说明并致歉" : nil)
            }
            summary.complaints += 1
        }
        for _ in 0..<min(200, patients.count / 50) {
            _ = try await crm.service.registerConsultation(
                agent, patientId: "his-" + random.pick(patients), phone: nil, topic: random.pick(["复查时间", "报告查询", "医保报销", "用药咨询"]),
                content: "患者来电咨询", handling: random.chance(0.7) ? "已答复" : nil)
            summary.consultations += 1
        }
        for _ in 0..<min(150, patients.count / 60) {
            let department = random.pick(DemoCatalogue.departments)
            let when = crm.time.timestamp(crm.now().addingTimeInterval(Double(random.int(1...20)) * 86_400))
            let id = try await crm.service.bookAppointment(
                agent, patientId: "his-" + random.pick(patients), kind: random.chance(0.6) ? "visit" : "examination",
                departmentId: department.id, doctorId: "\(department.id)-S1", scheduledAt: when)
            if random.chance(0.3) { try await crm.service.setAppointmentStatus(agent, id: id, status: .confirmed) }
            summary.appointments += 1
        }
    }
}
