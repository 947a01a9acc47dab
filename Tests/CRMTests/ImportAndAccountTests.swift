import CRMDomain
import Foundation
import GRDB
import Replica
import TestSupport
import Testing

@Suite("CSV import and export")
struct ImportTests {
    @Test func csvParsingHandlesQuotesCommasNewlinesAndByteOrderMarks() throws {
        let records = try CSV.parse("\u{FEFF}a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\n\n")
        #expect(records.map(\.fields) == [["a", "b"], ["x, y", "say \"hi\""], ["two\nlines", "z"]])
        #expect(records.map(\.line) == [1, 2, 3])
        #expect(throws: CSV.SyntaxError.self) { try CSV.parse("a\n\"open") }
        #expect(CSV.line(["a,b", nil, "q\""]) == "\"a,b\",,\"q\"\"\"\n")
    }

    @Test func exportedCellsASpreadsheetWouldRunAsFormulasStayText() async throws {
        #expect(
            CSV.line(["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]) == "\"'=HYPERLINK(\"\"http://x\"\")\",'+1+1,'-2+3,'@SUM(A1),'\tcmd,\"'\rcmd\"\n")
        #expect(CSV.line(["-12", "+8613800001111", "3.5", "张三"]) == "-12,+8613800001111,3.5,张三\n", "numbers and text pass unchanged")
        let node = try TestNode(1)
        _ = try await node.crm.patients.create(.system, PatientInput(name: "=cmd|'/C calc'!A0"))
        let export = try await node.crm.patients.exportCSV(Staff.manager, .patients)
        #expect(export.contains("'=cmd|") && !export.contains(",=cmd|"))
    }

    @Test func aFileWithBrokenLinesIsRejectedWholeWithLineNumbersAndNoPatientData() async throws {
        let node = try TestNode(1)
        let file = """
            hisId,name,gender,birthDate,phone
            P001,王一,male,1950-01-02,13800000001
            P002,王二,robot,1950-01-02,13800000002
            P003,王三,female,1950-13-40,13800000003
            P004,,female,1950-01-02,13800000004
            P005,王五,female,1950-01-02,not-a-phone
            P006,王六,female
            P001,王一,male,1950-01-02,13800000001
            """
        let report = try await node.crm.patients.importCSV(Staff.manager, .patients, text: file)
        #expect(!report.applied && report.imported == 0)
        #expect(report.rejected.map(\.line) == [3, 4, 5, 6, 7, 8])
        #expect(report.rejected[0].reason == "gender must be male, female or unknown")
        #expect(report.rejected[1].reason == "birthDate must be yyyy-MM-dd")
        #expect(report.rejected[4].reason == "expected 5 fields, found 3")
        #expect(!report.rejected.contains { $0.reason.contains("王") || $0.reason.contains("not-a-phone") })
        #expect(try node.replica.statistics().rows["patient"] ?? 0 == 0, "nothing half-imported")
        await #expect(throws: CRMError(.unprocessable, "the header lacks the required column 'hisId'")) {
            try await node.crm.patients.importCSV(Staff.manager, .patients, text: "name\nx\n")
        }
        await #expect(throws: CRMError.self) { try await node.crm.patients.importCSV(Staff.manager, .patients, text: "hisId,name,secret\n") }
        await #expect(throws: CRMError.self) { try await node.crm.patients.importCSV(Staff.agent, .patients, text: file) }
    }

    @Test func patientsEncountersAndResponsesImportAndExportRoundTrip() async throws {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        let patients = """
            hisId,name,gender,birthDate,phone,tags
            P001,王一,male,1950-01-02,+86 138 0000 0001,高血压;复诊
            P002,"王,二",female,1951-03-04,13800000002,
            """
        await #expect(try node.crm.patients.importCSV(Staff.manager, .patients, text: patients).imported == 2)
        let encounters = """
            hisId,patientHisId,kind,departmentId,wardId,diagnosisCode,admittedAt,dischargedAt,dischargeStatus
            ZY01,P001,inpatient,D-CARD,W-CARD,I21.0,2026-11-01T08:00:00+08:00,2026-11-10T10:00:00+08:00,improved
            MZ01,P002,outpatient,D-ORTH,,S72.0,2026-11-02T09:00:00+08:00,,
            """
        let encounterReport = try await node.crm.patients.importCSV(Staff.manager, .encounters, text: encounters)
        #expect(encounterReport.applied && encounterReport.imported == 2)
        await #expect(try node.crm.encounters.encounter("his-ZY01~W-CARD").dischargedAt == "2026-11-10T10:00:00+08:00")
        await #expect(try node.crm.patients.archive(Staff.manager, patientId: "his-P001").tasks.map(\.kind).sorted() == ["bedside24h", "discharge72h"])
        let responses = """
            id,templateId,templateVersion,patientHisId,wardId,mode,submittedAt,answers
            01JIMPORT000000000000001,bedside,1,P001,W-CARD,phone,2026-11-12T10:00:00+08:00,"{""overall"":5,""nps"":10,""complained"":""no""}"
            """
        await #expect(try node.crm.patients.importCSV(Staff.manager, .responses, text: responses).imported == 1)
        let badResponses = responses.replacingOccurrences(of: "\"\"overall\"\":5", with: "\"\"overall\"\":9").replacingOccurrences(
            of: "01JIMPORT000000000000001", with: "01JIMPORT000000000000002")
        let bad = try await node.crm.patients.importCSV(Staff.manager, .responses, text: badResponses)
        #expect(bad.rejected.map(\.line) == [2] && bad.rejected[0].reason == "answers: question 'overall' needs an integer from 1 to 5")
        // Importing the same files again changes nothing.
        let before = try node.replica.statistics().rows
        _ = try await node.crm.patients.importCSV(Staff.manager, .patients, text: patients)
        _ = try await node.crm.patients.importCSV(Staff.manager, .encounters, text: encounters)
        _ = try await node.crm.patients.importCSV(Staff.manager, .responses, text: responses)
        var after = try node.replica.statistics().rows
        after["auditEntry"] = before["auditEntry"]
        #expect(after == before)
        // Export and import into a fresh node gives the same archives.
        let other = try TestNode(2)
        try await other.seedOrganisation()
        for dataset in CSVDataset.allCases {
            let text = try await node.crm.patients.exportCSV(Staff.manager, ExportDataset(dataset))
            let report = try await other.crm.patients.importCSV(Staff.admin, dataset, text: text)
            #expect(report.applied, "\(dataset): \(report.rejected)")
        }
        await #expect(try other.crm.patients.patient("his-P002").name == "王,二")
        await #expect(try other.crm.patients.patient("his-P001").tags == ["复诊", "高血压"])
        await #expect(try other.crm.patients.patient("his-P001").phone == "13800000001")
        await #expect(try other.crm.patients.archive(Staff.manager, patientId: "his-P001").surveyResponses.count == 1)
    }
}

@Suite("Accounts, sessions and roles")
struct AccountTests {
    @Test func loginChecksThePasswordAndSessionsExpire() async throws {
        let node = try TestNode(1)
        try await node.crm.accounts.saveUser(.system, username: "Agent.Li", displayName: "李坐席", role: .agent, password: "correct horse")
        await #expect(throws: CRMError(.unauthenticated, "wrong user name or password")) { try await node.crm.accounts.login(username: "agent.li", password: "wrong password") }
        await #expect(throws: CRMError(.unauthenticated, "wrong user name or password")) { try await node.crm.accounts.login(username: "nobody", password: "correct horse") }
        let session = try await node.crm.accounts.login(username: "agent.li", password: "correct horse")
        #expect(session.user.role == .agent && session.token.count == 64)
        await #expect(try node.crm.accounts.authenticate(token: session.token) == Caller(userId: "agent.li", role: .agent))
        let hash = try await node.replica.reader.read { db in try String.fetchOne(db, sql: "SELECT passwordHash FROM appUser") }
        #expect(hash?.hasPrefix("$argon2id$") == true)
        await #expect(
            try node.replica.reader.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM crm_session WHERE tokenHash = ?", arguments: [session.token]) } == 0,
            "only the token's hash is stored")
        node.clock.advance(hours: 9)
        await #expect(throws: CRMError(.unauthenticated, "the session expired; log in again")) { try await node.crm.accounts.authenticate(token: session.token) }
        let again = try await node.crm.accounts.login(username: "agent.li", password: "correct horse")
        try await node.crm.accounts.logout(token: again.token)
        await #expect(throws: CRMError.self) { try await node.crm.accounts.authenticate(token: again.token) }
    }

    @Test func unknownUsersWrongPasswordsAndDisabledAccountsGetTheSameAnswer() async throws {
        let node = try TestNode(1)
        try await node.crm.accounts.saveUser(.system, username: "agent", displayName: "坐席", role: .agent, password: "correct horse")
        try await node.crm.accounts.saveUser(.system, username: "gone", displayName: "离职", role: .agent, password: "correct horse", disabled: true)
        let same = CRMError(.unauthenticated, "wrong user name or password")
        await #expect(throws: same) { try await node.crm.accounts.login(username: "nobody", password: "correct horse", address: "10.0.0.1") }
        await #expect(throws: same) { try await node.crm.accounts.login(username: "agent", password: "wrong horse", address: "10.0.0.2") }
        await #expect(throws: same) { try await node.crm.accounts.login(username: "gone", password: "correct horse", address: "10.0.0.3") }
        let audit = try await node.replica.reader.read { db in
            try Row.fetchAll(db, sql: "SELECT userId, action FROM auditEntry WHERE action LIKE 'login%' ORDER BY userId").map {
                "\($0["userId"] as String) \($0["action"] as String)"
            }
        }
        #expect(audit == ["agent login.failed", "gone login.failed", "nobody login.failed"], "failed logins are audited, by the name typed")
    }

    @Test func failedLoginsBackOffPerUserAndPerAddressAndLockTheAccount() async throws {
        let node = try TestNode(1)
        let accounts = node.crm.accounts
        try await accounts.saveUser(.system, username: "agent", displayName: "坐席", role: .agent, password: "correct horse")
        try await accounts.saveUser(.system, username: "other", displayName: "坐席二", role: .agent, password: "correct horse")
        for _ in 0..<4 { await #expect(throws: CRMError.self) { try await accounts.login(username: "agent", password: "guess", address: "10.0.0.9") } }
        // Back-off: even the right password waits, from any address, and is not even checked.
        await #expect(throws: CRMError(.throttled, "too many failed logins; try again later")) {
            try await accounts.login(username: "agent", password: "correct horse", address: "10.0.0.7")
        }
        // The guessing address waits for other names too; other addresses do not.
        await #expect(throws: CRMError(.throttled, "too many failed logins; try again later")) {
            try await accounts.login(username: "other", password: "correct horse", address: "10.0.0.9")
        }
        _ = try await accounts.login(username: "other", password: "correct horse", address: "10.0.0.8")
        node.clock.advance(by: 3_000)
        _ = try await accounts.login(username: "agent", password: "correct horse", address: "10.0.0.7")
        // Ten failures within fifteen minutes lock the account; an administrator sees it and unlocks it.
        for _ in 0..<10 {
            node.clock.advance(by: 61_000)
            await #expect(throws: CRMError.self) { try await accounts.login(username: "agent", password: "guess", address: "10.0.1.\(Int.random(in: 1...200))") }
        }
        node.clock.advance(by: 61_000)
        await #expect(throws: CRMError(.throttled, "too many failed logins; try again later")) {
            try await accounts.login(username: "agent", password: "correct horse", address: "10.0.0.7")
        }
        let locked = try await accounts.users(Staff.admin).first { $0.id == "agent" }
        #expect(locked?.lockedUntil != nil)
        try await accounts.saveUser(Staff.admin, username: "agent", displayName: "坐席", role: .agent, password: "new correct horse")
        _ = try await accounts.login(username: "agent", password: "new correct horse", address: "10.0.0.7")
        #expect(try await accounts.users(Staff.admin).first { $0.id == "agent" }?.lockedUntil == nil)
    }

    @Test func accountsReplicateSoAWardCanLogInOffline() async throws {
        let central = try TestNode(1), ward = try TestNode(2)
        try await central.crm.accounts.saveUser(Staff.admin, username: "nurse1", displayName: "护士", role: .visitor, password: "bedside-2026", wardId: "W-CARD")
        try central.send(to: ward)
        let session = try await ward.crm.accounts.login(username: "nurse1", password: "bedside-2026")
        #expect(session.user.wardId == "W-CARD")
        try await central.crm.accounts.saveUser(Staff.admin, username: "nurse1", displayName: "护士", role: .visitor, password: nil, wardId: "W-CARD", disabled: true)
        try central.send(to: ward)
        await #expect(throws: CRMError(.unauthenticated, "this account is disabled")) { try await ward.crm.accounts.authenticate(token: session.token) }
    }

    @Test func onlyAdminsManageAccountsAndTheAuditTrailRecordsWhoDidWhatWhere() async throws {
        let node = try TestNode(1)
        await #expect(throws: CRMError(.forbidden, "role 'manager' may not do this (allowed: admin)")) {
            try await node.crm.accounts.saveUser(Staff.manager, username: "x1", displayName: "x", role: .admin, password: "12345678")
        }
        await #expect(throws: CRMError.self) { try await node.crm.accounts.saveUser(Staff.admin, username: "x1", displayName: "x", role: .admin, password: "short") }
        let patient = try await node.patient("审计")
        let trail = try await node.crm.organisation.auditTrail(Staff.manager, entityId: patient, page: PageRequest())
        #expect(trail.items.map(\.action) == ["patient.create"])
        #expect(trail.items[0].userId == "agent1" && trail.items[0].nodeId == node.replica.nodeID.description)
        await #expect(throws: CRMError.self) { try await node.crm.organisation.auditTrail(Staff.agent, page: PageRequest()) }
    }
}

/// One file is one commit, and a commit is bounded in bytes (peers take it whole): the most lines
/// a dataset allows per file, of rows like a hospital's, must fit, so that a file within the
/// documented limit never fails with "commit too large" after a clean preview.
@Suite("CSV import limits")
struct ImportLimitTests {
    private static func patientLines(_ count: Int) -> String {
        CSV.line(["hisId", "name", "gender", "birthDate", "idNumber", "phone", "address", "region", "category"])
            + (0..<count).map { index in
                CSV.line([
                    String(format: "P%07d", index + 1), "欧阳明华", index % 2 == 0 ? "female" : "male", "1956-03-14",
                    String(format: "35012419560314%04d", index % 10_000), String(format: "138%08d", index), "福州市鼓楼区五四路一百二十八号三单元", "鼓楼区",
                    "医保",
                ])
            }.joined()
    }

    @Test(arguments: [CSVDataset.patients, .encounters, .responses])
    func aFileOfTheMostLinesADatasetAllowsFitsOneCommit(_ dataset: CSVDataset) async throws {
        let node = try TestNode(1)
        try await node.seedOrganisation()
        let count = dataset.maximumLines
        let patients = dataset == .patients ? count : min(count, CSVDataset.patients.maximumLines)
        let imported = try await node.crm.patients.importCSV(Staff.manager, .patients, text: Self.patientLines(patients))
        #expect(imported.applied && imported.imported == patients)
        guard dataset != .patients else { return }
        let text: String
        if dataset == .encounters {
            text =
                CSV.line(["hisId", "patientHisId", "kind", "departmentId", "wardId", "diagnosisCode", "admittedAt", "dischargedAt", "dischargeStatus"])
                + (0..<count).map { index in
                    CSV.line([
                        String(format: "ZY%07d", index), String(format: "P%07d", index % patients + 1), "inpatient", "D-CARD", "W-CARD", "I21.0",
                        "2026-11-01T08:00:00+08:00", "2026-11-10T10:00:00+08:00", "improved",
                    ])
                }.joined()
        } else {
            text =
                CSV.line(["id", "templateId", "templateVersion", "patientHisId", "wardId", "mode", "submittedAt", "answers"])
                + (0..<count).map { index in
                    CSV.line([
                        String(format: "01JIMPORT%015d", index), "bedside", "1", String(format: "P%07d", index % patients + 1), "W-CARD", "phone",
                        "2026-11-12T10:00:00+08:00", #"{"overall":4,"nps":9,"complained":"no"}"#,
                    ])
                }.joined()
        }
        let report = try await node.crm.patients.importCSV(Staff.manager, dataset, text: text)
        #expect(report.applied && report.imported == count, "\(report.rejected.prefix(3))")
    }
}
