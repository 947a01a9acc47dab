import CRMDomain
import Foundation
import Hummingbird
import NIOCore
import NodeRuntime

extension WebUI {
    /// The audit trail for managers and administrators: who did what, on which node, newest first;
    /// `?entity=` narrows it to one record (a patient's id shows who opened their archive).
    package func addAudit(to router: Router<APIRequestContext>) {
        let crm = self.crm
        pages(router, .manager, .admin).get("/audit") { request, context in
            let session = try context.session()
            let query = FormFields(request.uri.query ?? "")
            let trail: Page<AuditEntry>
            do {
                trail = try await Self.auditEntries(crm, session.caller, query, limit: 200)
            } catch let error as CRMError where error.refusesInput {
                return session.page(
                    session.strings["audit"], errorBanner(session.strings.refusal(error.message)) + Self.auditPage(Page(items: [], next: nil), query: query, s: session.strings))
            }
            return session.page(session.strings["audit"], Self.auditPage(trail, query: query, s: session.strings))
        }
        // The filtered trail for the security officer's own tools: at most 10,000 entries, newest first.
        pages(router, .manager, .admin).get("/audit.csv") { request, context in
            let session = try context.session()
            var query = FormFields(request.uri.query ?? "")
            var text = CSVLine.of(["at", "userId", "action", "entity", "entityId", "nodeId"])
            for _ in 0..<20 {
                let page = try await Self.auditEntries(crm, session.caller, query, limit: PageRequest.maximumLimit)
                text += page.items.map { CSVLine.of([$0.at, $0.userId, $0.action, $0.entity, $0.entityId, $0.nodeId]) }.joined()
                guard let next = page.next else { break }
                query.set("after", next)
            }
            return WebPage.csvDownload(text, filename: "audit.csv")
        }
    }

    static let auditFilters = ["entity", "user", "action", "from", "to"]

    static func auditEntries(_ crm: CRM, _ caller: Caller, _ query: FormFields, limit: Int) async throws -> Page<AuditEntry> {
        let range: DayRange? = query["from"] == nil && query["to"] == nil ? nil : DayRange(from: query["from"] ?? "2000-01-01", to: query["to"] ?? crm.today())
        return try await crm.organisation.auditTrail(
            caller, entityId: query["entity"], userId: query["user"], action: query["action"], range: range,
            page: try PageRequest(after: query["after"], limit: limit))
    }

    static func auditPage(_ trail: Page<AuditEntry>, query: FormFields, s: Strings) -> Markup {
        let rows = trail.items.map { entry -> Markup in
            "<tr><td>\(e(entry.at))</td><td>\(e(entry.userId))</td><td>\(e(entry.action))</td><td>\(e(entry.entity))</td><td>\(e(entry.entityId))</td><td>\(e(entry.nodeId))</td></tr>"
        }
        let filters = auditFilters.compactMap { key in query[key].map { "\(key)=\(HTML.urlComponent($0))" } }.joined(separator: "&")
        let more: Markup = trail.next.map { next in "<p><a href=\"/audit?\(e(filters))&amp;after=\(HTML.urlComponent(next))\">\(s["more"])</a></p>" } ?? .empty
        func input(_ name: String, _ label: String, type: String = "text") -> Markup {
            "<div><label for=\"a-\(name)\">\(s[label])</label><input type=\"\(type)\" id=\"a-\(name)\" name=\"\(name)\" value=\"\(e(query[name]))\" maxlength=\"100\"></div>"
        }
        return """
            <form method="get" action="/audit" class="card" id="audit-filter"><div class="grid">
            \(input("user", "who"))\(input("action", "auditAction"))\(input("entity", "auditEntity"))\(input("from", "from", type: "date"))\(input("to", "to", type: "date"))</div>
            <p><button type="submit">\(s["filter"])</button> <a href="/audit.csv?\(e(filters))" download>\(s["csv"])</a></p></form>
            <table id="audit"><thead><tr><th>\(s["when"])</th><th>\(s["who"])</th><th>\(s["auditAction"])</th><th>\(s["auditEntityKind"])</th><th>\(s["auditEntity"])</th><th>\(s["node"])</th></tr></thead>
            <tbody>\(rows.joined())</tbody></table>\(more)
            """
    }
}
