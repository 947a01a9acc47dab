import CRMDomain
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NodeHTTP
import NodeRuntime
import TestSupport
import Testing

/// Pages are `Markup`: text put into them is escaped, markup is not. Markup in every kind of text a
/// user or a peer can put on a page comes back as text on every page of every role; and no page
/// escapes its own markup twice (a fragment that is text where markup was meant shows as `&lt;td`).
@Suite("Web pages: what users typed is text, the pages' own markup is markup")
struct WebEscapingTests {
    static let payload = "<img src=x onerror=alert(1)>\"'&"

    /// Tags the pages write: seen escaped, one of them was turned into text by mistake.
    static let ownTags = [
        "a", "b", "p", "td", "th", "tr", "li", "ul", "span", "div", "form", "input", "label", "option", "select",
        "table", "strong", "section", "article", "details", "fieldset", "textarea", "button", "svg", "text", "h2",
    ]

    @Test func markupInEveryKindOfTextComesBackAsTextOnEveryPageAndNoPageEscapesItsOwnMarkup() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm, p = Self.payload
            try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-CARD", name: "心内科" + p))
            try await crm.organisation.saveReference(.system, .ward, ReferenceItem(id: "W-CARD", name: "心内一病区" + p, departmentId: "D-CARD"))
            try await crm.organisation.saveReference(.system, .staff, ReferenceItem(id: "S-1", name: "王医生" + p, departmentId: "D-CARD", title: p))
            let patient = try await crm.patients.create(.system, PatientInput(name: "张三" + p, phone: "13800001234", address: p, region: p, category: p, tags: ["<i>x</i>"]))
            let agent = Caller(userId: "agent", role: .agent)
            let complaint = try await crm.complaints.register(agent, ComplaintInput(patientId: patient, departmentId: "D-CARD", summary: "投诉" + p, channel: "phone"))
            _ = try await crm.service.registerConsultation(agent, patientId: patient, phone: nil, topic: "咨询" + p, content: p, handling: p)
            try await crm.accounts.saveUser(.system, username: "viewer", displayName: "显示名" + p, role: .agent, password: "password-viewer")
            _ = try await crm.followUps.saveRule(.system, FollowUpRule(name: "规则" + p, kind: .fixedOffset, triggerEvent: .discharge, offsets: [1]))
            try await crm.organisation.setCalendarDay(.system, day: "2026-12-31", working: false, name: "假日" + p)
            _ = try await crm.encounters.record(
                .system,
                EncounterInput(
                    patientId: patient, kind: "inpatient", departmentId: "D-CARD", wardId: "W-CARD",
                    doctorId: nil, diagnosisCode: "I21.0", admittedAt: "2026-11-20T08:00:00+08:00", hisId: "ZY-1"))

            let pages: [(user: String, paths: [String])] = [
                ("admin", ["/fleet", "/users", "/organisation", "/patients?q=张三", "/patients/\(patient)", "/dashboard", "/account"]),
                (
                    "manager",
                    [
                        "/complaints", "/complaints/\(complaint)", "/patients/\(patient)", "/conflicts", "/sms", "/templates", "/rules",
                        "/dashboard", "/fleet", "/organisation", "/patients",
                    ]
                ),
                ("agent", ["/desk", "/patients?q=张三", "/patients/\(patient)", "/complaints"]),
                ("nurse", ["/ward"]),
            ]
            for (user, paths) in pages {
                let login = try await client.execute(
                    uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: "username=\(user)&password=password-\(user)")
                ) { $0 }
                let cookie = try #require(login.headers[.setCookie]?.split(separator: ";").first.map(String.init), "\(user) logs in")
                for path in paths {
                    let uri = path.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? path
                    let (status, html) = try await client.execute(uri: uri, method: .get, headers: [.cookie: cookie]) { response in
                        (response.status, String(buffer: response.body))
                    }
                    #expect(status == .ok, "\(user) \(path)")
                    #expect(!html.contains("<img src=x"), "\(user) \(path): typed markup became markup")
                    #expect(!html.contains("&amp;lt;") && !html.contains("&amp;quot;") && !html.contains("&amp;amp;"), "\(user) \(path): escaped twice")
                    for tag in Self.ownTags where html.contains("&lt;\(tag) ") || html.contains("&lt;\(tag)&gt;") || html.contains("&lt;/\(tag)&gt;") {
                        Issue.record("\(user) \(path): the page's own <\(tag)> shows as text")
                    }
                }
            }
        }
    }
}
