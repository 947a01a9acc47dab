import CRMDomain
import Foundation
import GRDB
import Replica
import TestSupport
import Testing

/// A small fixed data set whose statistics were worked out by hand.
///
/// Responses (ward, mode, month, overall, nps):
///   W-CARD bedside 2026-10: (5,10) (4,9) (2,3) (3,7)   → satisfied 2, dissatisfied 1, no opinion 1; NPS (2−1)/4 = 25
///   W-CARD phone   2026-10: (5,9) (1,0)                → satisfied 1, dissatisfied 1; NPS (1−1)/2 = 0
///   W-CARD bedside 2026-11: (4,8) (5,10) (5,6)         → satisfied 3; NPS (1−1)/3 = 0
///   W-ORTH bedside 2026-11: (4,10) (4,9) (3,9) (2,2)   → satisfied 2, dissatisfied 1, no opinion 1; NPS (3−1)/4 = 50
/// Phone tasks not reached: 2 (no answer, wrong number), due in November.
@Suite("Statistics against hand-computed values")
struct StatisticsTests {
    static func fixture() async throws -> TestNode {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        let patient = try await node.patient("统计")
        let rows: [(String, SurveyMode, String, Int, Int)] = [
            ("W-CARD", .bedside, "2026-10-05", 5, 10), ("W-CARD", .bedside, "2026-10-06", 4, 9), ("W-CARD", .bedside, "2026-10-07", 2, 3),
            ("W-CARD", .bedside, "2026-10-31", 3, 7), ("W-CARD", .phone, "2026-10-10", 5, 9), ("W-CARD", .phone, "2026-10-11", 1, 0),
            ("W-CARD", .bedside, "2026-11-01", 4, 8), ("W-CARD", .bedside, "2026-11-02", 5, 10), ("W-CARD", .bedside, "2026-11-03", 5, 6),
            ("W-ORTH", .bedside, "2026-11-04", 4, 10), ("W-ORTH", .bedside, "2026-11-05", 4, 9), ("W-ORTH", .bedside, "2026-11-06", 3, 9),
            ("W-ORTH", .bedside, "2026-11-07", 2, 2),
        ]
        for (index, row) in rows.enumerated() {
            var submission = bedsideSubmission(
                String(format: "01JSTAT%017d", index), patient: patient, overall: row.3, nps: row.4, mode: row.1,
                ward: row.0, at: row.2 + "T10:00:00+08:00")
            if row.0 == "W-ORTH" { submission.departmentId = "D-ORTH" }
            if index == 0 { submission.opinions = [OpinionInput(kind: .praise, text: "好", departmentId: "D-CARD")] }
            if index == 2 { submission.opinions = [OpinionInput(kind: .important, text: "夜间噪音", departmentId: "D-CARD")] }
            if index == 12 {
                submission.opinions = [
                    OpinionInput(kind: .important, text: "换药不及时", departmentId: "D-ORTH"),
                    OpinionInput(kind: .suggestion, text: "增加陪护椅", departmentId: "D-ORTH"),
                ]
            }
            _ = try await node.crm.surveys.submit(Staff.manager, submission)
        }
        for (day, outcome) in [("2026-11-10", FollowUpOutcome.noAnswer), ("2026-11-11", .wrongNumber), ("2026-11-12", .reached)] {
            let task = try await node.crm.followUps.createTask(Staff.manager, patientId: patient, dueDate: day, note: nil, templateId: nil)
            _ = try await node.crm.followUps.record(Staff.agent, taskId: task, outcome: outcome, note: nil, nextAction: nil)
        }
        return node
    }

    @Test func satisfactionCountsAndRatesAreSplitByMode() async throws {
        let node = try await Self.fixture()
        let rows = try await node.crm.statistics.satisfaction(Staff.manager, range: DayRange(from: "2026-10-01", to: "2026-11-30"))
        let bedside = try #require(rows.first { $0.mode == "bedside" })
        let phone = try #require(rows.first { $0.mode == "phone" })
        let bedsideCounts = [bedside.satisfied, bedside.dissatisfied, bedside.noOpinion, bedside.notReached]
        let phoneCounts = [phone.satisfied, phone.dissatisfied, phone.noOpinion, phone.notReached]
        #expect(bedsideCounts == [7, 2, 2, 0])
        #expect(phoneCounts == [1, 1, 0, 2])
        #expect(abs(bedside.satisfiedRate - 7.0 / 11) < 1e-9)
        #expect(abs(phone.notReachedRate - 0.5) < 1e-9)
        let october = try await node.crm.statistics.satisfaction(Staff.manager, range: DayRange(from: "2026-10-01", to: "2026-10-31"), wardId: "W-CARD")
        #expect(october.map(\.mode) == ["bedside", "phone"])
        #expect(october[0].satisfied == 2 && october[0].noOpinion == 1, "the 31st is included")
    }

    @Test func npsPerWardByMonthQuarterYearAndRange() async throws {
        let node = try await Self.fixture()
        let range = DayRange(from: "2026-10-01", to: "2026-11-30")
        let monthly = try await node.crm.statistics.nps(Staff.manager, range: range, period: .month)
        func score(_ ward: String, _ period: String, _ mode: String, in rows: [NPSRow]) -> Double? {
            rows.first { $0.wardId == ward && $0.period == period && $0.mode == mode }?.nps
        }
        #expect(score("W-CARD", "2026-10", "bedside", in: monthly) == 25)
        #expect(score("W-CARD", "2026-10", "phone", in: monthly) == 0)
        #expect(score("W-CARD", "2026-11", "bedside", in: monthly) == 0)
        #expect(score("W-ORTH", "2026-11", "bedside", in: monthly) == 50)
        #expect(monthly.count == 4)
        let quarterly = try await node.crm.statistics.nps(Staff.manager, range: range, period: .quarter)
        // W-CARD bedside Q4: promoters 10,9,10 = 3; detractors 3,6 = 2; n = 7 → 14.3
        #expect(score("W-CARD", "2026-Q4", "bedside", in: quarterly) == 14.3)
        let yearly = try await node.crm.statistics.nps(Staff.manager, range: range, period: .year, wardId: "W-ORTH")
        #expect(yearly.map(\.period) == ["2026"])
        let whole = try await node.crm.statistics.nps(Staff.manager, range: DayRange(from: "2026-10-06", to: "2026-10-07"), period: .range)
        #expect(whole.count == 1 && whole[0].period == "2026-10-06..2026-10-07" && whole[0].nps == 0 && whole[0].responses == 2)
    }

    @Test func opinionsPerDepartmentAndTheirShare() async throws {
        let node = try await Self.fixture()
        let rows = try await node.crm.statistics.opinionsByDepartment(Staff.manager, range: DayRange(from: "2026-10-01", to: "2026-11-30"))
        #expect(rows.map(\.departmentId) == ["D-CARD", "D-ORTH"] || rows.map(\.departmentId) == ["D-ORTH", "D-CARD"])
        let card = try #require(rows.first { $0.departmentId == "D-CARD" })
        #expect(card.praise == 1 && card.important == 1 && card.total == 2 && card.share == 0.5 && card.name == "心内科")
        let praise = try await node.crm.statistics.opinions(Staff.manager, kind: .praise, range: DayRange(from: "2026-10-01", to: "2026-11-30"), page: PageRequest())
        #expect(praise.items.map(\.text) == ["好"])
        let important = try await node.crm.statistics.opinions(Staff.manager, kind: .important, range: DayRange(from: "2026-10-01", to: "2026-11-30"), page: PageRequest())
        #expect(important.items.count == 2)
    }

    @Test func followUpCoverageCountsDueDoneAndOnTime() async throws {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        let patient = try await node.patient("甲")
        // Admitted 22nd 08:00: bedside due by 23rd 08:00; the visit at 23rd 09:00 (now) is late.
        let late = try await node.crm.encounters.record(
            Staff.visitor,
            EncounterInput(
                patientId: patient, kind: "inpatient", departmentId: "D-CARD",
                wardId: "W-CARD", admittedAt: "2026-11-22T08:00:00+08:00"))
        // Admitted 23rd 08:30: the visit at 09:00 is on time.
        let onTime = try await node.crm.encounters.record(
            Staff.visitor,
            EncounterInput(
                patientId: try node.patient("乙"), kind: "inpatient",
                departmentId: "D-CARD", wardId: "W-CARD", admittedAt: "2026-11-23T08:30:00+08:00"))
        // A third admission not visited yet.
        _ = try await node.crm.encounters.record(
            Staff.visitor,
            EncounterInput(
                patientId: try node.patient("丙"), kind: "inpatient", departmentId: "D-CARD",
                wardId: "W-CARD", admittedAt: "2026-11-23T08:45:00+08:00"))
        for encounter in [late, onTime] {
            let task = try await #require(node.crm.patients.archive(Staff.manager, patientId: node.crm.encounters.encounter(encounter).patientId).tasks.first)
            _ = try await node.crm.followUps.record(Staff.visitor, taskId: task.id, outcome: .reached, note: nil, nextAction: nil)
        }
        let coverage = try await node.crm.statistics.coverage(Staff.manager, range: DayRange(from: "2026-11-01", to: "2026-11-30"))
        #expect(coverage.map(\.kind) == ["bedside24h"])
        #expect(coverage.first.map { [$0.due, $0.done, $0.onTime] } == [3, 2, 1])
        #expect(coverage.first.map { abs($0.onTimeRate - 1.0 / 3) < 1e-9 } == true)
    }

    @Test func coverageCountsTasksClosedWithThePatientReachedOrDecliningOnly() async throws {
        let node = try TestNode(1)
        let patient = try await node.crm.patients.create(Staff.agent, PatientInput(name: "覆盖率", phone: "13800138126"))
        for outcome in [FollowUpOutcome.reached, .refused, .wrongNumber, .noAnswer] {
            let task = try await node.crm.followUps.createTask(Staff.manager, patientId: patient, dueDate: "2026-11-20", note: nil, templateId: nil)
            _ = try await node.crm.followUps.record(Staff.agent, taskId: task, outcome: outcome, note: nil, nextAction: nil)
        }
        let coverage = try await node.crm.statistics.coverage(Staff.manager, range: DayRange(from: "2026-11-01", to: "2026-11-30"))
        #expect(coverage.first { $0.kind == "oneOff" }.map { [$0.due, $0.done] } == [4, 2], "closed as not reached is not followed up")
    }

    @Test func statisticsAreForManagersOnly() async throws {
        let node = try TestNode(1)
        await #expect(throws: CRMError.self) { try await node.crm.statistics.nps(Staff.agent, range: DayRange(from: "2026-01-01", to: "2026-12-31"), period: .month) }
        await #expect(throws: CRMError(.unprocessable, "from must not be after to")) {
            try await node.crm.statistics.nps(Staff.manager, range: DayRange(from: "2026-12-01", to: "2026-01-01"), period: .month)
        }
    }
}

@Suite("Daily response counts")
struct ResponseCountTests {
    /// The counts kept by the trigger equal a recount of the raw rows on every node, after
    /// responses arrive from other nodes in random order and some batches twice (law: idempotence).
    @Test(arguments: [1, 2, 3] as [UInt64]) func dailyCountsMatchARecountAfterDuplicatedAndReorderedSync(seed: UInt64) async throws {
        var random = SplitMix64(seed: seed)
        let nodes = try (1...3).map { try TestNode(UInt64($0)) }
        try await nodes[0].seedOrganisation()
        let patient = try await nodes[0].patient("计数")
        for node in nodes.dropFirst() { try nodes[0].send(to: node) }
        for index in 0..<60 {
            let node = nodes[Int(random.next() % 3)]
            let day = 1 + Int(random.next() % 28)
            let mode: SurveyMode = [.bedside, .phone, .sms, .kiosk][Int(random.next() % 4)]
            _ = try await node.crm.surveys.submit(
                Staff.manager,
                bedsideSubmission(
                    String(format: "01JCOUNT%016d", index), patient: patient,
                    overall: 1 + Int(random.next() % 5), nps: Int(random.next() % 11), mode: mode,
                    ward: random.next() % 2 == 0 ? "W-CARD" : "W-ORTH",
                    at: String(format: "2026-11-%02dT10:00:00+08:00", day)))
            if random.next() % 4 == 0 {
                let (a, b) = (nodes[Int(random.next() % 3)], nodes[Int(random.next() % 3)])
                if a.replica.nodeID != b.replica.nodeID {
                    let (batch, _) = try a.replica.changes(since: b.replica.versionVector(), maxChanges: 7)
                    try await b.replica.apply(batch)
                    try await b.replica.apply(batch)
                }
            }
        }
        for _ in 0..<2 { for a in nodes { for b in nodes where a.replica.nodeID != b.replica.nodeID { try a.send(to: b) } } }
        let recount = """
            SELECT substr(submittedAt, 1, 10), wardId, mode, COUNT(*), SUM(recommend >= 9), SUM(recommend <= 6), SUM(overall >= 4), SUM(overall <= 2)
            FROM surveyResponse GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            """
        let kept = """
            SELECT day, wardId, mode, SUM(responses), SUM(promoters), SUM(detractors), SUM(satisfied), SUM(dissatisfied)
            FROM crm_response_day GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            """
        for node in nodes {
            let (expected, actual) = try await node.replica.reader.read { db in
                (try Row.fetchAll(db, sql: recount).map { Array($0.databaseValues) }, try Row.fetchAll(db, sql: kept).map { Array($0.databaseValues) })
            }
            #expect(expected.count > 10 && expected == actual, "seed \(seed)")
        }
    }
}

extension ResponseCountTests {
    /// An odd response from another node (no ward, no department, a time that is not a time) still
    /// merges: the counting trigger must never fail a batch, or sync would stall. (Values the
    /// declared columns refuse — NULL where `not null`, text where numbers belong — quarantine
    /// their origin instead: ReplicaTests' HostileCommitTests.)
    @Test func aMalformedRemoteResponseStillMergesAndIsCounted() throws {
        let columns = try #require(repositoryPolicies.table(named: "surveyResponse")).columns
        func row(_ key: String, _ values: [String: DatabaseValue]) -> (table: String, key: String, values: [DatabaseValue]) {
            let required: [String: DatabaseValue] = [
                "templateId": "T".databaseValue, "templateVersion": 1.databaseValue, "patientId": "P1".databaseValue,
                "mode": "bedside".databaseValue, "submittedAt": "2026-11-01T10:00:00+08:00".databaseValue,
                "answers": "{}".databaseValue,
            ]
            let merged = required.merging(values) { $1 }
            return ("surveyResponse", key, columns.map { merged[$0.name] ?? .null })
        }
        var chain = ChainWriter(authority: SharedSecretTrust(nodeID: NodeID(9)), policies: repositoryPolicies)
        try chain.commit(inserting: [row("01JMALFORMED000000000001", [:])], at: HLC(milliseconds: 1_795_395_600_000, counter: 1))
        try chain.commit(
            inserting: [row("01JMALFORMED000000000002", ["submittedAt": "garbage".databaseValue, "mode": "telepathy".databaseValue])],
            at: HLC(milliseconds: 1_795_395_600_000, counter: 2))
        let batch = ChangeBatch(segments: [chain.segment()])
        let node = try TestNode(1)
        try node.replica.apply(batch)
        let (rows, counted) = try node.replica.reader.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM surveyResponse") ?? 0, try Int.fetchOne(db, sql: "SELECT SUM(responses) FROM crm_response_day") ?? 0)
        }
        #expect(rows == 2 && counted == 2)
    }
}
