import CRMDomain
import Hummingbird
import NodeRuntime

extension WebUI {
    /// The audit trail for managers and administrators: who did what, on which node, newest first;
    /// `?entity=` narrows it to one record (a patient's id shows who opened their archive).
    package func addAudit(to router: Router<APIRequestContext>) {
        let crm = self.crm
        pages(router, .manager, .admin).get("/audit") { request, context in
            let session = try context.session()
            let entity = request.query("entity").flatMap { $0.isEmpty ? nil : $0 }
            let trail = try await crm.organisation.auditTrail(session.caller, entityId: entity, page: PageRequest(after: request.query("after"), limit: 200))
            return session.page(session.strings["audit"], Self.auditPage(trail, entity: entity, s: session.strings))
        }
    }

    static func auditPage(_ trail: Page<AuditEntry>, entity: String?, s: Strings) -> Markup {
        let rows = trail.items.map { entry -> Markup in
            "<tr><td>\(e(entry.at))</td><td>\(e(entry.userId))</td><td>\(e(entry.action))</td><td>\(e(entry.entity))</td><td>\(e(entry.entityId))</td><td>\(e(entry.nodeId))</td></tr>"
        }
        let more: Markup =
            trail.next.map { next in "<p><a href=\"/audit?after=\(HTML.urlComponent(next))&amp;entity=\(HTML.urlComponent(entity ?? ""))\">\(s["more"])</a></p>" } ?? .empty
        return """
            <form method="get" action="/audit" class="inline"><label for="entity">\(s["auditEntity"])</label>
            <input type="text" id="entity" name="entity" value="\(e(entity ?? ""))"><button type="submit">\(s["filter"])</button></form>
            <table id="audit"><thead><tr><th>\(s["when"])</th><th>\(s["who"])</th><th>\(s["auditAction"])</th><th>\(s["auditEntityKind"])</th><th>\(s["auditEntity"])</th><th>\(s["node"])</th></tr></thead>
            <tbody>\(rows.joined())</tbody></table>\(more)
            """
    }
}
