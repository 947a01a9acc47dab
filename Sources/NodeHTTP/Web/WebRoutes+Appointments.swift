import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime

/// Appointments (预约): today's and the coming week's list, earliest first, where the counter
/// confirms the visit (就诊确认), cancels or marks a no-show; and the booking form.
extension WebUI {
    /// Appointments on one page of the list.
    package static let appointmentPageSize = 50

    package func addAppointments(to router: Router<APIRequestContext>) {
        let crm = self.crm
        pages(router, .agent, .manager).get("/appointments") { request, context in
            let session = try context.session()
            return try await Self.appointmentsPage(crm, session, request.query, error: nil, saved: request.query("saved") != nil)
        }
        pages(router, .agent, .manager).post("/appointments") { request, context in
            let session = try context.session()
            let form = try await request.form(context: context)
            do {
                guard let at = Self.localTimestamp(form["at"], crm.time) else { throw CRMError(.invalid, session.strings["timeRequired"]) }
                _ = try await crm.service.bookAppointment(
                    session.caller, patientId: form["patientId"] ?? "", kind: form["kind"] ?? "", departmentId: form["departmentId"],
                    doctorId: form["doctorId"], scheduledAt: at)
            } catch let error as CRMError where error.refusesInput || error.kind == .notFound {
                return try await Self.appointmentsPage(crm, session, { _ in nil }, error: session.strings.refusal(error.message), saved: false)
            }
            return WebPage.redirect("/appointments?saved=1")
        }
        pages(router, .agent, .manager).post("/appointments/:id/status") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let form = try await request.form(context: context)
            do {
                guard let status = form["status"].flatMap(AppointmentStatus.init(rawValue:)), status != .booked else {
                    throw CRMError(.invalid, "status must be confirmed, cancelled or noShow")
                }
                try await crm.service.setAppointmentStatus(session.caller, id: id, status: status)
            } catch let error as CRMError where error.refusesInput || error.kind == .conflict || error.kind == .notFound {
                return try await Self.appointmentsPage(crm, session, { _ in nil }, error: session.strings.refusal(error.message), saved: false)
            }
            return WebPage.redirect("/appointments?saved=1")
        }
    }

    /// The names of the archives a page of a list names (at most a page of them), by id.
    static func patientNames(_ crm: CRM, _ ids: [String]) async -> [String: String] {
        var names: [String: String] = [:]
        for id in Set(ids) { names[id] = (try? await crm.patients.patient(id))?.name }
        return names
    }

    /// The list (filtered by `query`: from, to, status, after) with the booking form.
    static func appointmentsPage(_ crm: CRM, _ session: WebSession, _ query: (String) -> String?, error: String?, saved: Bool) async throws -> Response {
        let s = session.strings
        let today = crm.today()
        let from = query("from").flatMap { $0.isEmpty ? nil : $0 } ?? today
        let to = query("to").flatMap { $0.isEmpty ? nil : $0 } ?? crm.time.day(from, plus: 7) ?? from
        let statusText = query("status") ?? AppointmentStatus.booked.rawValue
        let status = AppointmentStatus(rawValue: statusText)
        let page = try PageRequest(after: query("after"), limit: Self.appointmentPageSize)
        let (list, departments, staff) = await (
            try crm.service.appointments(session.caller, range: DayRange(from: from, to: to), status: status, page: page),
            try crm.organisation.references(.department), try crm.organisation.references(.staff)
        )
        let names = await Self.patientNames(crm, list.items.map(\.patientId))
        var html = errorBanner(error)
        let statuses = ["all"] + AppointmentStatus.allCases.map(\.rawValue)
        html += """
            <form method="get" action="/appointments" class="card" id="appointment-filter"><div class="grid">
            <div><label for="f-from">\(s["from"])</label><input type="date" id="f-from" name="from" value="\(e(from))"></div>
            <div><label for="f-to">\(s["to"])</label><input type="date" id="f-to" name="to" value="\(e(to))"></div>
            <div><label for="f-status">\(s["status"])</label><select id="f-status" name="status">\(statuses.markup { "<option value=\"\($0)\"\($0 == statusText ? " selected" : "")>\(s[$0 == "all" ? "cs_all" : "appt_" + $0])</option>" })</select></div></div>
            <p><button type="submit" class="secondary">\(s["filter"])</button></p></form>
            """
        let rows = list.items.map { entry -> Markup in
            let id = HTML.urlComponent(entry.id)
            let actions: Markup =
                entry.status == AppointmentStatus.booked.rawValue
                ? [AppointmentStatus.confirmed, .noShow, .cancelled].markup { next in
                    "<form method=\"post\" action=\"/appointments/\(id)/status\" class=\"inline \(next.rawValue)\"\(next == .confirmed ? .empty : " data-confirm=\"\(s["apptConfirm_" + next.rawValue])\"" as Markup)><input type=\"hidden\" name=\"status\" value=\"\(next.rawValue)\"><button type=\"submit\"\(next == .confirmed ? .empty : " class=\"secondary\"" as Markup)>\(s["apptDo_" + next.rawValue])</button></form>"
                }
                : .empty
            return """
                <tr id="appointment-\(e(entry.id))"><td>\(minute(entry.scheduledAt))</td>
                <td><a href="/patients/\(HTML.urlComponent(entry.patientId))">\(e(names[entry.patientId] ?? entry.patientId))</a></td>
                <td>\(s[entry.kind])</td><td>\(e(departments.first { $0.id == entry.departmentId }?.name))</td><td>\(e(staff.first { $0.id == entry.doctorId }?.name))</td>
                <td>\(s["appt_" + entry.status])</td><td>\(actions)</td></tr>
                """
        }
        html +=
            list.items.isEmpty
            ? "<p class=\"muted\">\(s["noRows"])</p>"
            : "<table id=\"appointments\"><thead><tr><th>\(s["time"])</th><th>\(s["name"])</th><th>\(s["kind"])</th><th>\(s["department"])</th><th>\(s["doctor"])</th><th>\(s["status"])</th><th></th></tr></thead><tbody>\(rows.joined())</tbody></table>"
        if let next = list.next {
            html +=
                "<p><a id=\"appointments-next\" href=\"/appointments?from=\(HTML.urlComponent(from))&amp;to=\(HTML.urlComponent(to))&amp;status=\(HTML.urlComponent(statusText))&amp;after=\(HTML.urlComponent(next))\">\(s["more"])</a></p>"
        }
        html += """
            <form method="post" action="/appointments" class="card" id="appointment-form"><h2>\(s["appointment"])</h2><div class="grid">
            <div><label for="b-patient">\(s["archiveId"])</label><input type="text" id="b-patient" name="patientId" value="\(e(query("patient")))" required></div>
            <div><label for="b-kind">\(s["kind"])</label><select id="b-kind" name="kind"><option value="visit">\(s["visit"])</option><option value="examination">\(s["examination"])</option></select></div>
            <div><label for="b-department">\(s["department"])</label><select id="b-department" name="departmentId"><option value="">—</option>\(departments.markup { "<option value=\"\(e($0.id))\">\(e($0.name))</option>" })</select></div>
            <div><label for="b-doctor">\(s["doctor"])</label><select id="b-doctor" name="doctorId"><option value="">—</option>\(staff.markup { "<option value=\"\(e($0.id))\">\(e($0.name))</option>" })</select></div>
            <div><label for="b-at">\(s["visitAt"])</label><input type="datetime-local" id="b-at" name="at" required></div></div>
            <p><button type="submit" id="book-appointment">\(s["save"])</button></p></form>
            """
        return session.page(s["appointments"], html, flash: saved ? s["saved"] : nil)
    }
}
