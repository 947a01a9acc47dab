import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime

/// The consultation counter (咨询): open consultations oldest first, answered from the list or
/// routed to the department that answers; a consultation from an anonymous caller (a phone
/// number only) or a known archive is registered here too.
extension WebUI {
    /// Consultations on one page of the list.
    package static let consultationPageSize = 50

    package func addConsultations(to router: Router<APIRequestContext>) {
        let crm = self.crm
        pages(router, .agent, .manager).get("/consultations") { request, context in
            let session = try context.session()
            return try await Self.consultationsPage(crm, session, request.query, error: nil, saved: request.query("saved") != nil)
        }
        pages(router, .agent, .manager).post("/consultations") { request, context in
            let session = try context.session()
            let form = try await request.form(context: context)
            return try await Self.consultationAction(crm, session) {
                guard form["patientId"] != nil || form["phone"] != nil else { throw CRMError(.invalid, session.strings["patientOrPhone"]) }
                _ = try await crm.service.registerConsultation(
                    session.caller, patientId: form["patientId"], phone: form["phone"], topic: form["topic"] ?? "", content: form["content"] ?? "",
                    handling: form["handling"])
            }
        }
        pages(router, .agent, .manager).post("/consultations/:id/answer") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let form = try await request.form(context: context)
            return try await Self.consultationAction(crm, session) {
                try await crm.service.answerConsultation(session.caller, id: id, handling: form["handling"] ?? "")
            }
        }
        pages(router, .agent, .manager).post("/consultations/:id/route") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let form = try await request.form(context: context)
            return try await Self.consultationAction(crm, session) {
                try await crm.service.routeConsultation(session.caller, id: id, departmentId: form["departmentId"] ?? "")
            }
        }
    }

    /// Runs a change from the counter and goes back to the open list; a refusal (bad input, an
    /// unknown or already answered consultation) shows the list with its reason.
    static func consultationAction(_ crm: CRM, _ session: WebSession, _ action: () async throws -> Void) async throws -> Response {
        do {
            try await action()
        } catch let error as CRMError where error.refusesInput || error.kind == .notFound || error.kind == .conflict {
            return try await consultationsPage(crm, session, { _ in nil }, error: session.strings.refusal(error.message), saved: false)
        }
        return WebPage.redirect("/consultations?saved=1")
    }

    /// The list (filtered by `query`: status, department, after) with the registration form.
    static func consultationsPage(
        _ crm: CRM, _ session: WebSession, _ query: (String) -> String?, error: String?, saved: Bool
    ) async throws -> Response {
        let s = session.strings
        let status = query("status") ?? "open"
        let department = query("department").flatMap { $0.isEmpty ? nil : $0 }
        let page = try PageRequest(after: query("after"), limit: Self.consultationPageSize)
        let (list, departments) = await (
            try crm.service.consultations(session.caller, status: status == "all" ? nil : status, departmentId: department, page: page),
            try crm.organisation.references(.department)
        )
        let departmentOptions = { (selected: String?) -> Markup in
            departments.markup { "<option value=\"\(e($0.id))\"\($0.id == selected ? " selected" : "")>\(e($0.name))</option>" }
        }
        var html = errorBanner(error)
        html += """
            <form method="get" action="/consultations" class="card" id="consultation-filter"><div class="grid">
            <div><label for="f-status">\(s["status"])</label><select id="f-status" name="status">\(["open", "answered", "all"].markup { "<option value=\"\($0)\"\($0 == status ? " selected" : "")>\(s["cs_" + $0])</option>" })</select></div>
            <div><label for="f-department">\(s["department"])</label><select id="f-department" name="department"><option value="">—</option>\(departmentOptions(department))</select></div></div>
            <p><button type="submit" class="secondary">\(s["filter"])</button></p></form>
            """
        let names = await Self.patientNames(crm, list.items.compactMap(\.patientId))
        let rows = list.items.map { entry -> Markup in
            let id = HTML.urlComponent(entry.id)
            let who: Markup =
                entry.patientId.map { "<a href=\"/patients/\(HTML.urlComponent($0))\">\(e(names[$0] ?? $0))</a>" }
                ?? "\(s["anonymousCaller"]) \(e(entry.phone.map(PhoneNumber.masked)))"
            let routed = departments.first { $0.id == entry.departmentId }?.name
            let actions: Markup =
                entry.status == "open"
                ? """
                <form method="post" action="/consultations/\(id)/answer" class="answer"><label for="h-\(e(entry.id))" class="visually-hidden">\(s["handling"])</label>
                <textarea id="h-\(e(entry.id))" name="handling" rows="2" maxlength="4000" required></textarea><button type="submit">\(s["answerConsultation"])</button></form>
                <form method="post" action="/consultations/\(id)/route" class="inline route"><label for="r-\(e(entry.id))" class="visually-hidden">\(s["routeTo"])</label>
                <select id="r-\(e(entry.id))" name="departmentId">\(departmentOptions(entry.departmentId))</select><button type="submit" class="secondary">\(s["routeTo"])</button></form>
                """
                : "\(e(entry.handling))"
            return """
                <tr id="consultation-\(e(entry.id))"><td>\(minute(entry.at))</td><td>\(who)</td><td><b>\(e(entry.topic))</b><br>\(e(entry.content))</td>
                <td>\(e(routed))</td><td>\(s["cs_" + entry.status])</td><td>\(actions)</td></tr>
                """
        }
        html +=
            list.items.isEmpty
            ? "<p class=\"muted\">\(s["noRows"])</p>"
            : "<table id=\"consultations\"><thead><tr><th>\(s["time"])</th><th>\(s["caller"])</th><th>\(s["topic"])</th><th>\(s["department"])</th><th>\(s["status"])</th><th>\(s["handling"])</th></tr></thead><tbody>\(rows.joined())</tbody></table>"
        if let next = list.next {
            html +=
                "<p><a id=\"consultations-next\" href=\"/consultations?status=\(HTML.urlComponent(status))&amp;department=\(HTML.urlComponent(department ?? ""))&amp;after=\(HTML.urlComponent(next))\">\(s["more"])</a></p>"
        }
        html += """
            <form method="post" action="/consultations" class="card" id="consultation-form"><h2>\(s["consultation"])</h2>
            <div class="grid"><div><label for="c-patient">\(s["archiveId"])</label><input type="text" id="c-patient" name="patientId"></div>
            <div><label for="c-phone">\(s["callerPhone"])</label><input type="tel" id="c-phone" name="phone"></div></div>
            <label for="c-topic">\(s["topic"])</label><input type="text" id="c-topic" name="topic" required maxlength="100">
            <label for="c-content">\(s["content"])</label><textarea id="c-content" name="content" required maxlength="4000"></textarea>
            <label for="c-handling">\(s["handling"])</label><textarea id="c-handling" name="handling" maxlength="4000"></textarea>
            <p><button type="submit" id="register-consultation">\(s["save"])</button></p></form>
            """
        return session.page(s["consultations"], html, flash: saved ? s["saved"] : nil)
    }
}
