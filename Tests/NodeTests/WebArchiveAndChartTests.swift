import CRMDomain
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import NIOCore
import Replica
import TestSupport
import Testing

@testable import Benchmarks
@testable import CRMDomain
@testable import NodeHTTP
@testable import NodeRuntime
@testable import Testnets

@Suite("Web UI: archive forms and charts")
struct WebArchiveAndChartTests {
    static let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    /// A page form's body with the session's token, as the page's form would send it.
    static func withToken(_ body: String, _ cookie: String) -> String {
        let session = cookie.split(separator: "=", maxSplits: 1).last.map(String.init) ?? ""
        return body + "&\(CSRFToken.field)=" + CSRFToken.of(session: session)
    }

    static func logIn(_ client: any TestClientProtocol, _ user: String, password: String? = nil) async throws -> String {
        let login = try await client.execute(
            uri: "/login", method: .post, headers: formHeaders,
            body: ByteBuffer(string: "username=\(user)&password=\(password ?? "password-\(user)")")
        ) { $0 }
        return try #require(login.headers[.setCookie]?.split(separator: ";").first.map(String.init))
    }

    @Test func anAgentCreatesAnArchiveAndEditsOnlyWhatChanged() async throws {
        try await APITests.withNode { runtime, client in
            let cookie = try await Self.logIn(client, "agent")
            let create = try await client.execute(
                uri: "/patients", method: .post, headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(
                    string: Self.withToken("name=%E6%9D%8E%E5%9B%9B&gender=male&birthDate=1970-03-04&phone=%2B86+138-0013-8111&address=&tags=%E9%AB%98%E8%A1%80%E5%8E%8B", cookie))
            ) { $0 }
            #expect(create.status == .seeOther)
            let location = try #require(create.headers[.location])
            let id = String(location.dropFirst("/patients/".count))
            var patient = try await runtime.crm.patients.patient(id)
            #expect(patient.name == "李四" && patient.gender == "male" && patient.phone == "13800138111" && patient.tags == ["高血压"])
            #expect(patient.address == nil, "an empty field on a new archive stays empty")

            // The archive page offers the edit form filled in, in Chinese.
            let page = try await client.execute(uri: location, method: .get, headers: [.cookie: cookie]) { String(buffer: $0.body) }
            #expect(page.contains("id=\"edit-patient\"") && page.contains("value=\"13800138111\"") && page.contains(" · 男 · "))

            // Edit the address only; every other field is posted unchanged and must not be written.
            let edit = try await client.execute(
                uri: "\(location)/edit", method: .post, headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(
                    string: Self.withToken(
                        "name=%E6%9D%8E%E5%9B%9B&gender=male&birthDate=1970-03-04&idNumber=&phone=13800138111&address=%E4%BA%94%E5%9B%9B%E8%B7%AF1%E5%8F%B7&region=&category=&tags=%E9%AB%98%E8%A1%80%E5%8E%8B",
                        cookie)
                )
            ) { $0 }
            #expect(edit.status == .seeOther)
            patient = try await runtime.crm.patients.patient(id)
            #expect(patient.address == "五四路1号" && patient.phone == "13800138111" && patient.name == "李四")
            let updates = try await runtime.crm.replica.reader.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM auditEntry WHERE action = 'patient.update' AND entityId = ?", arguments: [id])
            }
            #expect(updates == 1)

            // A bad value is refused with a message that names the field, never the value.
            let bad = try await client.execute(
                uri: "\(location)/edit", method: .post, headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: Self.withToken("name=%E6%9D%8E%E5%9B%9B&phone=%E7%A7%98%E5%AF%86", cookie))
            ) { response in
                (response.status, String(buffer: response.body))
            }
            #expect(bad.0 == .unprocessableContent && bad.1.contains("不是有效的电话号码") && !bad.1.contains("秘密"))
            await #expect(try runtime.crm.patients.patient(id).phone == "13800138111")
        }
    }

    @Test func everyUserChangesTheirOwnPassword() async throws {
        try await APITests.withNode { runtime, client in
            let cookie = try await Self.logIn(client, "nurse")
            func change(_ body: String) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(
                    uri: "/account/password", method: .post, headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: Self.withToken(body, cookie))
                ) { ($0.status, String(buffer: $0.body)) }
            }
            let page = try await client.execute(uri: "/account", method: .get, headers: [.cookie: cookie]) { String(buffer: $0.body) }
            #expect(page.contains("id=\"password-form\""))
            #expect(try await change("old=wrong-password&new=new-password-1&repeat=new-password-1").1.contains("原密码错误"))
            #expect(try await change("old=password-nurse&new=new-password-1&repeat=other-password").1.contains("两次输入的新密码不一致"))
            #expect(try await change("old=password-nurse&new=short&repeat=short").1.contains("8–128"))
            #expect(try await change("old=password-nurse&new=new-password-1&repeat=new-password-1").1.contains("密码已修改"))
            await #expect((try? runtime.crm.accounts.login(username: "nurse", password: "password-nurse")) == nil)
            await #expect((try? runtime.crm.accounts.login(username: "nurse", password: "new-password-1")) != nil)
            // The session that changed it goes on; the user's other sessions ended.
            #expect(try await client.execute(uri: "/account", method: .get, headers: [.cookie: cookie]) { $0.status } == .ok)
            let other = try await Self.logIn(client, "nurse", password: "new-password-1")
            _ = try await client.execute(
                uri: "/account/password", method: .post, headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: Self.withToken("old=new-password-1&new=new-password-2&repeat=new-password-2", cookie))
            ) { $0.status }
            #expect(try await client.execute(uri: "/account", method: .get, headers: [.cookie: other]) { $0.status } == .seeOther, "the other session was ended")
            // Guessing the old password here is throttled like a login: three guesses are free, then
            // each waits for a back-off (2 s, 4 s, …), so a run of guesses soon meets a refusal, however
            // slowly a loaded machine sends them.
            var statuses: [HTTPResponse.Status] = []
            while statuses.count < 10, statuses.last != .tooManyRequests {
                statuses.append(try await change("old=guess-guess&new=new-password-3&repeat=new-password-3").0)
            }
            #expect(statuses.prefix(3).allSatisfy { $0 != .tooManyRequests }, "the first three guesses are checked")
            #expect(statuses.last == .tooManyRequests)
        }
    }

    @Test func aComplaintsPageShowsEveryStepAndMovesItOnWithTheResponsibleDepartment() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-EYE", name: "眼科"))
            try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-ENT", name: "耳鼻喉科"))
            let patient = try await crm.patients.create(.system, PatientInput(name: "孙七", phone: "13800138333"))
            let id = try await crm.complaints.register(
                Caller(userId: "agent", role: .agent),
                ComplaintInput(patientId: patient, departmentId: "D-EYE", summary: "候诊时间太长", channel: "phone"))
            let cookie = try await Self.logIn(client, "manager")
            let advance = try await client.execute(
                uri: "/complaints/\(id)/advance", method: .post,
                headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(
                    string: Self.withToken("back=detail&status=investigating&departmentId=D-ENT&note=%E5%B7%B2%E8%81%94%E7%B3%BB%E7%A7%91%E5%AE%A4&resolution=", cookie))
            ) { $0 }
            #expect(advance.status == .seeOther && advance.headers[.location] == "/complaints/\(id)")
            let complaint = try await crm.complaints.complaint(id)
            #expect(complaint.status == .investigating && complaint.departmentId == "D-ENT" && complaint.handlerId == "manager" && complaint.resolution == nil)
            let page = try await client.execute(uri: "/complaints/\(id)", method: .get, headers: [.cookie: cookie]) { String(buffer: $0.body) }
            #expect(page.contains("候诊时间太长") && page.contains("已联系科室") && page.contains("耳鼻喉科") && page.contains("/patients/\(patient)"))
            #expect(
                page.contains("data-status=\"investigating\"") && page.contains("<option value=\"handled\">") && !page.contains("<option value=\"accepted\">"),
                "only later steps are offered")
            let board = try await client.execute(uri: "/complaints", method: .get, headers: [.cookie: cookie]) { String(buffer: $0.body) }
            #expect(board.contains("href=\"/complaints/\(id)\""))
        }
    }

    @Test func theFleetPageNamesEachPeersRoleAndCertificateExpiry() async throws {
        try await APITests.withNode { runtime, client in
            let now = UInt64(Date().timeIntervalSince1970 * 1000), day: UInt64 = 86_400_000
            runtime.peers.record(
                name: "ward-5a", nodeID: NodeID(0x5A), role: "ward", address: "127.0.0.1:7401", connected: true, vector: nil, certificateExpiresAt: now + 200 * day)
            runtime.peers.record(name: "ward-5a", nodeID: NodeID(0x5A), address: "127.0.0.1:7401", connected: false, vector: nil)
            runtime.peers.record(
                name: "ward-6b", nodeID: NodeID(0x6B), role: "ward", address: "127.0.0.1:7402", connected: false, vector: nil, certificateExpiresAt: now + 10 * day)
            runtime.peers.record(name: "ward-7c", nodeID: NodeID(0x7C), role: "ward", address: "127.0.0.1:7403", connected: false, vector: nil, certificateExpiresAt: now - 3 * day)
            let cookie = try await Self.logIn(client, "admin")
            let page = try await client.execute(uri: "/fleet", method: .get, headers: [.cookie: cookie]) { String(buffer: $0.body) }
            #expect(page.contains("ward-5a") && page.contains("病区网关"), "a later record without the role keeps it")
            #expect(page.contains("秒前"))
            func date(_ ms: UInt64) -> String {
                let formatter = ISO8601DateFormatter()
                formatter.formatOptions = [.withFullDate]
                return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
            }
            #expect(page.contains("证书到期"))
            #expect(page.contains("<span class=\"expiry\">\(date(now + 200 * day))</span>"), "the expiry survives a later record without it")
            #expect(page.contains("<span class=\"expiry soon\">\(date(now + 10 * day)) (即将到期)</span>"))
            #expect(page.contains("<span class=\"expiry overdue\">\(date(now - 3 * day)) (已过期，需重新注册)</span>"))
            #expect(page.contains(date(runtime.certificateExpiresAt)), "the node's own expiry")
        }
    }

    /// Another site cannot make a logged-in browser change anything: a page form without the
    /// session's token, or a request whose Origin or Sec-Fetch-Site names another site, is refused
    /// and writes nothing; a JSON route refuses a body that is not sent as JSON.
    @Test func requestsAnotherSiteMakesABrowserSendAreRefused() async throws {
        try await APITests.withNode { runtime, client in
            let cookie = try await Self.logIn(client, "agent")
            let form = "name=%E8%A2%AB%E4%BC%AA%E9%80%A0"
            func post(_ body: String, _ extra: HTTPFields = [:]) async throws -> HTTPResponse.Status {
                var headers: HTTPFields = [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"]
                headers.append(contentsOf: extra)
                return try await client.execute(uri: "/patients", method: .post, headers: headers, body: ByteBuffer(string: body)) { $0.status }
            }
            #expect(try await post(form) == .forbidden, "no token")
            #expect(try await post(form + "&_csrf=00000000000000000000000000000000") == .forbidden, "a wrong token")
            #expect(try await post(Self.withToken(form, cookie), [.origin: "http://evil.example"]) == .forbidden)
            #expect(try await post(Self.withToken(form, cookie), [.init("Sec-Fetch-Site")!: "cross-site"]) == .forbidden)
            #expect(try await runtime.replica.statistics().rows["patient"] ?? 0 == 0, "nothing was written")
            // The page's own form carries the token and goes through.
            let page = try await client.execute(uri: "/patients", method: .get, headers: [.cookie: cookie]) { String(buffer: $0.body) }
            #expect(page.contains("name=\"_csrf\""))
            #expect(try await post(Self.withToken(form, cookie), [.init("Sec-Fetch-Site")!: "same-origin"]) == .seeOther)
            // JSON routes take JSON only (a form cannot pose as JSON without a preflight).
            let agent = try await APIClient(client: client).logIn("agent", "password-agent")
            let plain = try await agent.call(.post, "/api/patients", raw: ByteBuffer(string: #"{"name":"伪造"}"#))
            #expect(plain.status == .badRequest)
        }
    }

    @Test func anAdminKeepsTheReferenceListsParametersAndCalendar() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            let admin = try await Self.logIn(client, "admin")
            func post(_ path: String, _ body: String, cookie: String) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(
                    uri: path, method: .post, headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: Self.withToken(body, cookie))
                ) { ($0.status, String(buffer: $0.body)) }
            }
            #expect(try await post("/organisation/reference/department", "id=D-EYE&name=%E7%9C%BC%E7%A7%91&code=0301", cookie: admin).0 == .seeOther)
            #expect(
                try await post("/organisation/reference/ward", "id=W-EYE-1&name=%E7%9C%BC%E7%A7%91%E4%B8%80%E7%97%85%E5%8C%BA&departmentId=D-EYE", cookie: admin).0 == .seeOther)
            // Posting an existing code changes that entry.
            #expect(try await post("/organisation/reference/department", "id=D-EYE&name=%E7%9C%BC%E7%A7%91%E4%B8%AD%E5%BF%83&code=0301", cookie: admin).0 == .seeOther)
            await #expect(try crm.organisation.references(.department).map(\.name) == ["眼科中心"])
            await #expect(try crm.organisation.references(.ward).first?.departmentId == "D-EYE")
            let unknown = try await post("/organisation/reference/ward", "id=W-X&name=X&departmentId=D-NONE", cookie: admin)
            #expect(unknown.0 == .notFound, "a ward of an unknown department is refused")
            #expect(try await post("/organisation/reference/robots", "id=R&name=R", cookie: admin).0 == .notFound)

            // Parameters: only what changed is written; a bad number is refused.
            #expect(try await post("/organisation/settings", "hospitalName=%E5%8C%BB%E9%99%A2&complaintDeadlineWorkingDays=7&smsDailyCap=3", cookie: admin).0 == .seeOther)
            await #expect(try crm.organisation.setting("complaintDeadlineWorkingDays", default: 0) == 7)
            let settings = try await crm.organisation.settings()
            #expect(settings["smsDailyCap"] == nil && settings["hospitalName"] == nil, "unchanged defaults stay unset")
            #expect(try await post("/organisation/settings", "complaintDeadlineWorkingDays=0", cookie: admin).0 == .badRequest)

            // The calendar: a hospital holiday moves complaint deadlines.
            #expect(try await post("/organisation/calendar", "day=2026-12-07&kind=holiday&name=%E9%99%A2%E5%BA%86", cookie: admin).0 == .seeOther)
            await #expect(try crm.organisation.calendarOverrides() == [CalendarDay(day: "2026-12-07", working: false, name: "院庆")])
            await #expect(try crm.organisation.workingCalendar().isWorkingDay("2026-12-07") == false)
            let page = try await client.execute(uri: "/organisation", method: .get, headers: [.cookie: admin]) { String(buffer: $0.body) }
            #expect(page.contains("眼科中心") && page.contains("眼科一病区") && page.contains("院庆") && page.contains("value=\"7\""))

            // A manager keeps the lists but not the parameters or the calendar.
            let manager = try await Self.logIn(client, "manager")
            let managerPage = try await client.execute(uri: "/organisation", method: .get, headers: [.cookie: manager]) { String(buffer: $0.body) }
            #expect(managerPage.contains("id=\"disease\"") && !managerPage.contains("id=\"settings\""))
            #expect(try await post("/organisation/settings", "complaintDeadlineWorkingDays=9", cookie: manager).0 == .forbidden)
            let agent = try await Self.logIn(client, "agent")
            #expect(try await client.execute(uri: "/organisation", method: .get, headers: [.cookie: agent]) { $0.status } == .forbidden)
        }
    }

    @Test func anUntouchedEditFormChangesNothing() throws {
        let current = Patient(row: ["id": "P1", "name": "王五", "gender": "female", "phone": "13900001111", "tags": SetCodec.encode(["a", "b"])])
        let form = FormFields("name=%E7%8E%8B%E4%BA%94&gender=female&birthDate=&idNumber=&phone=13900001111&address=&region=&category=&tags=b%2C+a")
        let input = WebUI.patientInput(form, comparedWith: current)
        #expect(input.name == nil && input.gender == nil && input.phone == nil && input.address == nil && input.tags == nil && input.birthDate == nil)
        let changed = WebUI.patientInput(FormFields("name=%E7%8E%8B%E4%BA%94&phone=13900002222&tags=a"), comparedWith: current)
        #expect(changed.name == nil && changed.phone == "13900002222" && changed.tags == ["a"])
    }

    @Test func aTrendLineBreaksAtMonthsWithoutResponsesInsteadOfDrawingZero() {
        let chart = ChartData(
            id: "t", title: "T", labelHeader: "month", seriesNames: ["bedside", "phone"],
            rows: [
                (label: "2026-01", values: [80, nil]), (label: "2026-02", values: [nil, 50]), (label: "2026-03", values: [90, 60]),
            ])
        let svg = SVGChart.line(chart).html
        #expect(svg.components(separatedBy: "<circle").count - 1 == 4, "one point per measured value, none for gaps")
        #expect(!svg.contains(">0.0<"), "no zero is drawn for a gap")
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 1, "only phone has two consecutive measured months")
        #expect(svg.contains(">bedside<") && svg.contains(">phone<"), "a legend names each series")
        #expect(chart.csv == "month,bedside,phone\n2026-01,80.0,\n2026-02,,50.0\n2026-03,90.0,60.0\n")
        #expect(chart.table.html.contains("<td>–</td>"))
    }

    @Test func theDashboardsSatisfactionTrendIsSplitBySurveyMode() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-CARD", name: "心内科"))
            try await crm.organisation.saveReference(.system, .ward, ReferenceItem(id: "W-CARD", name: "心内一病区", departmentId: "D-CARD"))
            _ = try await crm.surveys.saveTemplate(
                .system, id: "bedside", name: "床边", purpose: "bedside", diseaseCode: nil,
                definition: SurveyDefinition(questions: [
                    .init(id: "overall", text: "总体满意度", type: .scale5, required: true, role: .overall)
                ]))
            let patient = try await crm.patients.create(.system, PatientInput(name: "赵六", phone: "13800138222"))
            let manager = Caller(userId: "manager", role: .manager)
            for (index, (mode, overall, day)) in [(SurveyMode.bedside, 5, "2026-03-10"), (.phone, 1, "2026-03-11"), (.phone, 5, "2026-04-11")].enumerated() {
                _ = try await crm.surveys.submit(
                    manager,
                    SurveySubmission(
                        id: "response-\(index)-0000", templateId: "bedside", templateVersion: 1, patientId: patient, wardId: "W-CARD",
                        departmentId: "D-CARD", mode: mode, submittedAt: "\(day)T10:00:00+08:00", answers: ["overall": .number(Double(overall))]))
            }
            let cookie = try await Self.logIn(client, "manager")
            let csv = try await client.execute(
                uri: "/dashboard/satisfaction-trend.csv?from=2026-03-01&to=2026-04-30&period=range", method: .get,
                headers: [.cookie: cookie]
            ) { String(buffer: $0.body) }
            // Bedside 100 % in March and nothing in April; phone 0 % then 100 %: never pooled into one line.
            #expect(csv == "\u{FEFF}月份,床边,电话\n2026-03,100.0,0.0\n2026-04,,100.0\n", "with the UTF-8 BOM Excel and WPS need")
        }
    }
}
