import CRMDomain
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import NodeHTTP
@testable import NodeRuntime

/// The import and export page, the reports page, the opinion lists and the sectioned navigation.
@Suite("Web UI: import and export, reports, opinion lists")
struct ReportAndDataPageTests {
    static func percent(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }

    @Test func aManagerPreviewsAFileSeesEveryBadLineAndImportsOnlyAfterTheCleanPreview() async throws {
        try await APITests.withNode { runtime, client in
            let cookie = try await WebArchiveAndChartTests.logIn(client, "manager")
            let bad = "hisId,name,phone\nP001,王一,13800000001\nP002,王二,not-a-phone\n"
            let refused = try await SMSPageTests.post(client, "/data/import", "dataset=patients&action=preview&text=\(Self.percent(bad))", cookie)
            #expect(refused.0 == .ok && refused.2.contains("id=\"rejected-lines\"") && refused.2.contains("<td>3</td>"))
            #expect(refused.2.contains("id=\"import-preview\"") && refused.2.contains("<td>王一</td>"), "the first rows are shown")
            #expect(!refused.2.contains("id=\"import-apply\""), "no import button while a line is wrong")
            #expect(try await runtime.crm.patients.search(.system, query: "王", page: PageRequest(limit: 5)).items.isEmpty)

            // The same file saved by Excel on a Chinese Windows (GB18030), chosen as a file: read intact.
            let good = "hisId,name,phone\nP001,王一,13800000001\nP002,王二,13800000002\n"
            let gb = Data(
                Array("hisId,name,phone\nP001,".utf8) + [205, 245, 210, 187] + Array(",13800000001\nP002,".utf8) + [205, 245, 182, 254]
                    + Array(",13800000002\n".utf8))  // 王一, 王二 in GBK
            let preview = try await SMSPageTests.post(client, "/data/import", "dataset=patients&action=preview&file=\(Self.percent(gb.base64EncodedString()))", cookie)
            #expect(preview.2.contains("id=\"import-ready\"") && preview.2.contains("<td>王二</td>") && preview.2.contains("导入这 2 行"))
            #expect(try await runtime.crm.patients.search(.system, query: "王", page: PageRequest(limit: 5)).items.isEmpty, "a preview imports nothing")
            // The import takes the text the preview checked, kept on the node: once, and only for who previewed it.
            let draft = try #require(preview.2.firstMatch(of: /name="draft" value="([0-9a-f]+)"/).map { String($0.1) })
            let admin = try await WebArchiveAndChartTests.logIn(client, "admin")
            #expect(try await SMSPageTests.post(client, "/data/import", "action=apply&draft=\(draft)", admin).2.contains("预览已过期"))
            let apply = try await SMSPageTests.post(client, "/data/import", "action=apply&draft=\(draft)", cookie)
            #expect(apply.2.contains("id=\"import-done\"") && apply.2.contains("已导入 2 行"))
            #expect(try await SMSPageTests.post(client, "/data/import", "action=apply&draft=\(draft)", cookie).2.contains("预览已过期"))
            #expect(try await runtime.crm.patients.search(.system, query: "王", page: PageRequest(limit: 5)).items.count == 2)
            // A file over the pages' 1 MiB form limit (5,000 patients, the most a file may hold, with
            // long Chinese names) is read and checked whole.
            let big = "hisId,name\n" + (0..<5_000).map { String(format: "B%05d,", $0) + "欧阳大名字" + String(repeating: "长", count: 20) + "\n" }.joined()
            let form = "dataset=patients&action=preview&text=\(Self.percent(big))"
            #expect(form.utf8.count > 1 << 20)
            let large = try await SMSPageTests.post(client, "/data/import", form, cookie)
            #expect(large.0 == .ok && large.2.contains("导入这 5000 行"), "\(large.0)")
            let garbage = try await SMSPageTests.post(client, "/data/import", "dataset=patients&action=preview&file=%%%", cookie)
            #expect(garbage.0 == .ok && garbage.2.contains("class=\"error\""))
            let nothing = try await SMSPageTests.post(client, "/data/import", "dataset=patients&action=preview", cookie)
            #expect(nothing.2.contains("请选择文件或粘贴"))

            // Every dataset downloads; agents get none.
            let page = try await SMSPageTests.page(client, "/data", cookie).1
            for dataset in ExportDataset.allCases { #expect(page.contains("href=\"/data/\(dataset.rawValue).csv\"")) }
            let patients = try await client.execute(uri: "/data/patients.csv", method: .get, headers: [.cookie: cookie]) { $0 }
            #expect(patients.status == .ok && patients.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(String(buffer: patients.body).contains("P002,王二"))
            let survey = try await SMSPageTests.page(client, "/data/survey.csv?templateId=nope", cookie)
            #expect(survey.0 == .notFound)
            #expect(try await SMSPageTests.page(client, "/data/secrets.csv", cookie).0 == .notFound)
            let agent = try await WebArchiveAndChartTests.logIn(client, "agent")
            #expect(try await SMSPageTests.page(client, "/data/patients.csv", agent).0 == .forbidden)
            #expect(try await SMSPageTests.post(client, "/data/import", "action=apply&draft=\(draft)", agent).0 == .forbidden)
        }
    }

    @Test func theReportsPageDrawsEveryReportWithItsTableAndCSVAndPrints() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-CARD", name: "心内科"))
            try await crm.organisation.saveReference(.system, .staff, ReferenceItem(id: "DR-A", name: "张医生", departmentId: "D-CARD"))
            let cookie = try await WebArchiveAndChartTests.logIn(client, "manager")
            let page = try await SMSPageTests.page(client, "/reports", cookie)
            #expect(page.0 == .ok)
            for chart in [
                "results", "result-rates", "results-by-doctor", "results-by-disease", "results-by-department", "workload", "coverage-by-department",
                "complaint-ageing", "complaints-by-stage", "opinions-by-staff",
            ] {
                #expect(page.1.contains("id=\"chart-\(chart)\""), "\(chart)")
                #expect(try await SMSPageTests.page(client, "/reports/\(chart).csv", cookie).0 == .ok, "\(chart)")
            }
            #expect(page.1.contains("data-print") && page.1.contains("class=\"tabs no-print\""))
            let ageing = try await SMSPageTests.page(client, "/reports/complaint-ageing.csv", cookie).1
            #expect(ageing.contains("0-2,0") && ageing.contains("11+,0"))
            #expect(try await SMSPageTests.page(client, "/reports/nope.csv", cookie).0 == .notFound)
            #expect(try await SMSPageTests.page(client, "/reports?from=2026-13-01&to=2026-12-01", cookie).0 == .badRequest)
            let css = try await client.execute(uri: "/assets/app.css", method: .get) { String(buffer: $0.body) }
            #expect(css.contains("@media print"))
            let agent = try await WebArchiveAndChartTests.logIn(client, "agent")
            #expect(try await SMSPageTests.page(client, "/reports", agent).0 == .forbidden)
        }
    }

    @Test func aManagerGradesAnOpinionAndReportsItUpFromTheList() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-CARD", name: "心内科"))
            try await crm.surveys.saveTemplate(
                .system, id: "general", name: "满意度", purpose: "general", diseaseCode: nil,
                definition: SurveyDefinition(questions: [
                    .init(id: "overall", text: "总体满意度", type: .scale5, required: true, role: .overall)
                ]))
            let patient = try await crm.patients.create(.system, PatientInput(name: "意见人", phone: "13800138601"))
            var submission = SurveySubmission(
                id: "01JOPINIONPAGE0000000001", templateId: "general", templateVersion: 1, patientId: patient, departmentId: "D-CARD", mode: .phone,
                submittedAt: crm.currentTimestamp(), answers: ["overall": .number(2)])
            submission.opinions = [OpinionInput(kind: .important, text: "<b>夜间噪音</b>", departmentId: "D-CARD")]
            _ = try await crm.surveys.submit(Caller(userId: "manager", role: .manager), submission)
            let cookie = try await WebArchiveAndChartTests.logIn(client, "manager")
            let list = try await SMSPageTests.page(client, "/opinions", cookie).1
            #expect(list.contains("&lt;b&gt;夜间噪音&lt;/b&gt;") && !list.contains("<b>夜间噪音"))
            let id = try #require(
                try await crm.statistics.opinions(
                    .system, kind: .important, range: DayRange(from: "2026-01-01", to: crm.today()), page: PageRequest(limit: 5)
                ).items.first?.id)
            #expect(list.contains("action=\"/opinions/\(id)/escalate\""))
            let empty = try await SMSPageTests.post(client, "/opinions/\(id)/escalate", "note=&back=important", cookie)
            #expect(empty.0 == .ok && empty.2.contains("class=\"error\""))
            let reported = try await SMSPageTests.post(client, "/opinions/\(id)/escalate", "note=\(Self.percent("院办"))&back=important", cookie)
            #expect(reported.0 == .seeOther)
            let after = try await SMSPageTests.page(client, "/opinions?kind=important", cookie).1
            #expect(after.contains("院办") && !after.contains("action=\"/opinions/\(id)/escalate\""))
            let again = try await SMSPageTests.post(client, "/opinions/\(id)/escalate", "note=x&back=important", cookie)
            #expect(again.2.contains("此意见已上报"))
            #expect(try await SMSPageTests.post(client, "/opinions/\(id)/grade", "kind=praise&back=important", cookie).0 == .seeOther)
            #expect(try await SMSPageTests.page(client, "/opinions?kind=praise", cookie).1.contains("夜间噪音"))
            let admin = try await WebArchiveAndChartTests.logIn(client, "admin")
            #expect(try await SMSPageTests.post(client, "/opinions/\(id)/grade", "kind=important", admin).0 == .forbidden, "grading is a manager's")
        }
    }

    @Test func theNavigationHasAtMostNineSectionsAndEverySectionsPagesAreTabs() async throws {
        try await APITests.withNode { runtime, client in
            for role in Role.allCases {
                let session = WebSession(
                    caller: Caller(userId: "u", role: role), strings: Strings(language: .zh),
                    node: NodeLinkStatus(name: "c", role: "central", nodeId: "c", certificateExpiresAt: 0, peers: []), path: "/")
                #expect(session.navigation.count <= 9, "\(role)")
            }
            let cookie = try await WebArchiveAndChartTests.logIn(client, "manager")
            let rules = try await SMSPageTests.page(client, "/rules", cookie).1
            #expect(rules.contains("<a href=\"/tasks\" aria-current=\"page\">随访</a>"), "the section is marked in the bar")
            #expect(rules.contains("<a href=\"/rules\" aria-current=\"page\">随访规则</a>") && rules.contains("<a href=\"/templates\">"))
            let outbox = try await SMSPageTests.page(client, "/sms/outbox", cookie).1
            #expect(outbox.contains("<a href=\"/sms/outbox\" aria-current=\"page\">发件箱</a>") && outbox.contains("<a href=\"/sms\">短信平台</a>"))
            #expect(outbox.components(separatedBy: "aria-current").count == 3, "one section in the bar, one tab")
        }
    }

    @Test func theReportsGradingPreviewsAndExportsWorkThroughTheAPI() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            let manager = try await APIClient(client: client).logIn("manager", "password-manager")
            let agent = try await APIClient(client: client).logIn("agent", "password-agent")
            let file = ByteBuffer(string: "hisId,name\nP001,王一\n")
            let preview = try await manager.call(.post, "/api/import/patients?preview=true", raw: file)
            #expect(preview.status == .ok && preview.text.contains("\"applied\":false") && preview.text.contains("\"imported\":1"))
            #expect(try await manager.call(.post, "/api/import/patients?preview=maybe", raw: file).status == .badRequest)
            #expect(try await crm.patients.search(.system, query: "王", page: PageRequest(limit: 5)).items.isEmpty)
            #expect(try await manager.call(.post, "/api/import/patients", raw: file).status == .ok)
            for route in ["results?groupBy=doctor&", "workload?", "coverage-by-department?", "opinions-by-staff?"] {
                #expect(try await manager.call(.get, "/api/stats/\(route)from=2026-01-01&to=2026-12-31").status == .ok, "\(route)")
                #expect(try await agent.call(.get, "/api/stats/\(route)from=2026-01-01&to=2026-12-31").status == .forbidden, "\(route)")
            }
            #expect(try await manager.call(.get, "/api/stats/results?groupBy=ward&from=2026-01-01&to=2026-12-31").status == .badRequest)
            // Archive search criteria: an empty or malformed value is refused, not taken as absent.
            for query in ["dischargedTo=", "status=", "admittedFrom=2026-13-01", "status=asleep", "opinion=", "diagnosis="] {
                #expect(try await manager.call(.get, "/api/patients?\(query)").status == .badRequest, "\(query)")
            }
            let found = try await manager.call(.get, "/api/patients?q=%E7%8E%8B&status=admitted&bed=12&contact=x")
            #expect(found.status == .ok && found.text.contains("\"items\":[]"))
            for dataset in ExportDataset.allCases {
                #expect(try await manager.call(.get, "/api/export/\(dataset.rawValue)").status == .ok, "\(dataset)")
            }
            #expect(try await manager.call(.get, "/api/export/secrets").status == .notFound)
            #expect(try await manager.call(.get, "/api/export/surveys/nope").status == .notFound)
            #expect(try await manager.call(.post, "/api/opinions/nope/grade", json: #"{"kind":"praise"}"#).status == .notFound)
            #expect(try await manager.call(.post, "/api/opinions/nope/escalate", json: #"{"note":" "}"#).status == .badRequest)
            #expect(try await agent.call(.post, "/api/opinions/nope/escalate", json: #"{"note":"院办"}"#).status == .forbidden)
        }
    }

    @Test func anAgentSearchesArchivesBySeveralCriteriaAndKeepsTheBlacklist() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-CARD", name: "心内科"))
            try await crm.organisation.saveReference(.system, .ward, ReferenceItem(id: "W-CARD", name: "心内一病区", departmentId: "D-CARD"))
            let patient = try await crm.patients.create(.system, PatientInput(name: "床位人", phone: "13800138701", contactName: "床位家属"))
            _ = try await crm.patients.create(.system, PatientInput(name: "床位外", phone: "13800138702"))
            _ = try await crm.encounters.record(
                .system, EncounterInput(patientId: patient, kind: "inpatient", departmentId: "D-CARD", wardId: "W-CARD", admittedAt: crm.currentTimestamp(), bed: "8"))
            let cookie = try await WebArchiveAndChartTests.logIn(client, "agent")
            let found = try await SMSPageTests.page(client, "/patients?q=%E5%BA%8A%E4%BD%8D&bed=8&status=admitted", cookie).1
            #expect(found.contains("床位人") && !found.contains("床位外"))
            #expect(found.contains("<details id=\"more-criteria\" open>"), "criteria in use stay visible")
            let contact = try await SMSPageTests.page(client, "/patients?contact=\(Self.percent("床位家"))", cookie).1
            #expect(contact.contains("床位人") && !contact.contains("床位外"))
            let refused = try await SMSPageTests.page(client, "/patients?admittedFrom=2026-13-01", cookie)
            #expect(refused.0 == .ok && refused.1.contains("admittedFrom 须为 yyyy-MM-dd"))
            let archive = try await SMSPageTests.page(client, "/patients/\(patient)", cookie).1
            #expect(archive.contains("id=\"contact\"") && archive.contains("床位家属"))

            let added = try await SMSPageTests.post(client, "/blacklist", "phone=13800138702&reason=\(Self.percent("骚扰"))&blacklisted=1", cookie)
            #expect(added.0 == .seeOther)
            let list = try await SMSPageTests.page(client, "/blacklist", cookie).1
            #expect(list.contains("138****8702") && list.contains("床位外") && !list.contains("13800138702"))
            let bad = try await SMSPageTests.post(client, "/blacklist", "phone=abc&blacklisted=1", cookie)
            #expect(bad.0 == .ok && bad.2.contains("class=\"error\""))
            #expect(try await SMSPageTests.post(client, "/blacklist", "phone=13800138702&blacklisted=0", cookie).0 == .seeOther)
            #expect(try await SMSPageTests.page(client, "/blacklist", cookie).1.contains("暂无数据"))
        }
    }
}
