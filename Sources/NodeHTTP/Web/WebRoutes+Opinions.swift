import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime

/// The opinion lists (出入院重要意见列表, 表扬列表): by kind, department and member of staff; a
/// manager regrades an opinion (分级管理) and records that it was reported up (上报).
extension WebUI {
    package func addOpinions(to router: Router<APIRequestContext>) {
        let crm = self.crm
        pages(router, .manager, .admin).get("/opinions") { request, context in
            let session = try context.session()
            return try await Self.opinionsPage(crm, session, FormFields(request.uri.query ?? ""), refusal: nil)
        }
        pages(router, .manager).post("/opinions/:id/grade") { request, context in
            let session = try context.session()
            let form = try await request.form(context: context)
            guard let kind = form["kind"].flatMap(OpinionInput.Kind.init(rawValue:)) else { throw CRMError(.invalid, "choose a grade") }
            try await crm.surveys.gradeOpinion(session.caller, id: try context.parameters.id(), kind: kind)
            return WebPage.redirect("/opinions?kind=\(HTML.urlComponent(form["back"] ?? kind.rawValue))")
        }
        pages(router, .manager).post("/opinions/:id/escalate") { request, context in
            let session = try context.session()
            let form = try await request.form(context: context)
            do {
                try await crm.surveys.escalateOpinion(session.caller, id: try context.parameters.id(), note: form["note"] ?? "")
            } catch let error as CRMError where error.refusesInput || error.kind == .conflict {
                return try await Self.opinionsPage(
                    crm, session, FormFields("kind=\(HTML.urlComponent(form["back"] ?? "important"))"), refusal: session.strings.refusal(error.message))
            }
            return WebPage.redirect("/opinions?kind=\(HTML.urlComponent(form["back"] ?? "important"))")
        }
    }

    static func opinionsPage(_ crm: CRM, _ session: WebSession, _ query: FormFields, refusal: String?) async throws -> Response {
        let s = session.strings
        let today = crm.today()
        let kind = query["kind"].flatMap(OpinionInput.Kind.init(rawValue:)) ?? .important
        let range = DayRange(from: query["from"] ?? String(today.prefix(4)) + "-01-01", to: query["to"] ?? today)
        let department = query["departmentId"].flatMap { $0.isEmpty ? nil : $0 }
        let staff = query["staffId"].flatMap { $0.isEmpty ? nil : $0 }
        let list = try await crm.statistics.opinions(
            session.caller, kind: kind, range: range, page: try PageRequest(after: query["after"], limit: 100), departmentId: department, staffId: staff)
        let (departments, people) = try await (crm.organisation.references(.department), crm.organisation.references(.staff))
        let names = Dictionary((departments + people).map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let manager = session.caller.role == .manager
        func options(_ items: [ReferenceItem], _ chosen: String?) -> Markup {
            "<option value=\"\">—</option>" + items.markup { "<option value=\"\(e($0.id))\"\($0.id == chosen ? " selected" : "")>\(e($0.name))</option>" }
        }
        var html = errorBanner(refusal)
        let kinds: [OpinionInput.Kind] = [.important, .praise, .suggestion]
        html += """
            <form method="get" action="/opinions" class="card no-print"><div class="grid">
            <div><label for="kind">\(s["kind"])</label><select id="kind" name="kind">\(kinds.markup { "<option value=\"\($0.rawValue)\"\($0 == kind ? " selected" : "")>\(s[$0.rawValue])</option>" })</select></div>
            <div><label for="departmentId">\(s["department"])</label><select id="departmentId" name="departmentId">\(options(departments, department))</select></div>
            <div><label for="staffId">\(s["staffMember"])</label><select id="staffId" name="staffId">\(options(people, staff))</select></div>
            <div><label for="from">\(s["from"])</label><input type="date" id="from" name="from" value="\(e(range.from))"></div>
            <div><label for="to">\(s["to"])</label><input type="date" id="to" name="to" value="\(e(range.to))"></div></div>
            <p><button type="submit">\(s["filter"])</button> <button type="button" class="secondary" data-print>\(s["print"])</button></p></form>
            """
        guard !list.items.isEmpty else { return session.page(s["opinionLists"], html + "<p class=\"muted\">\(s["noRows"])</p>") }
        html +=
            "<table id=\"opinions\"><thead><tr><th>\(s["when"])</th><th>\(s["opinion"])</th><th>\(s["department"])</th><th>\(s["staffMember"])</th><th>\(s["patients"])</th><th>\(s["grade"])</th><th>\(s["escalated"])</th></tr></thead><tbody>"
        html += list.items.markup { opinion in
            let grade: Markup =
                manager
                ? """
                <form method="post" action="/opinions/\(HTML.urlComponent(opinion.id))/grade" class="inline"><input type="hidden" name="back" value="\(kind.rawValue)">
                <label class="visually-hidden" for="grade-\(e(opinion.id))">\(s["grade"])</label><select id="grade-\(e(opinion.id))" name="kind">\(kinds.markup { "<option value=\"\($0.rawValue)\"\($0.rawValue == opinion.kind ? " selected" : "")>\(s[$0.rawValue])</option>" })</select>
                <button type="submit" class="secondary">\(s["save"])</button></form>
                """ : "\(s[opinion.kind])"
            let escalation: Markup =
                if let at = opinion.escalatedAt {
                    "\(e(String(at.prefix(10)))) · \(e(opinion.escalatedBy)) · \(e(opinion.escalationNote))"
                } else if manager {
                    """
                    <form method="post" action="/opinions/\(HTML.urlComponent(opinion.id))/escalate" class="inline escalate"><input type="hidden" name="back" value="\(kind.rawValue)">
                    <label class="visually-hidden" for="note-\(e(opinion.id))">\(s["escalationNote"])</label><input type="text" id="note-\(e(opinion.id))" name="note" required maxlength="500" placeholder="\(s["escalationNote"])">
                    <button type="submit">\(s["escalate"])</button></form>
                    """
                } else { "–" }
            let patient: Markup = opinion.patientId.map { "<a href=\"/patients/\(HTML.urlComponent($0))\">\(s["open"])</a>" } ?? "–"
            return """
                <tr data-opinion="\(e(opinion.id))"><td>\(e(String(opinion.at.prefix(10))))</td><td>\(e(opinion.text))</td>
                <td>\(e(opinion.departmentId.map { names[$0] ?? $0 }))</td><td>\(e(opinion.staffId.map { names[$0] ?? $0 }))</td><td>\(patient)</td>
                <td>\(grade)</td><td>\(escalation)</td></tr>
                """
        }
        html += "</tbody></table>"
        if let next = list.next {
            html +=
                "<p class=\"no-print\"><a href=\"/opinions?kind=\(kind.rawValue)&amp;from=\(e(range.from))&amp;to=\(e(range.to))&amp;departmentId=\(HTML.urlComponent(department ?? ""))&amp;staffId=\(HTML.urlComponent(staff ?? ""))&amp;after=\(HTML.urlComponent(next))\">\(s["more"])</a></p>"
        }
        return session.page(s["opinionLists"], html)
    }
}
