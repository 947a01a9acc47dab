import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime
import Replica

/// What an agent does from a call: a phone survey on a task, consultations, complaints,
/// appointments, the blacklist.
extension WebUI {
    package func addService(to router: Router<APIRequestContext>) {
        let crm = self.crm
        pages(router, .agent, .manager).get("/desk/tasks/:id/survey") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let task = try await crm.followUps.task(id)
            let template = try await Self.phoneTemplate(crm, task)
            let patient = try await crm.patients.patient(task.patientId)
            return session.page(
                "\(session.strings["phoneSurvey"]) · \(patient.name)",
                Self.surveyForm(
                    template, action: "/desk/tasks/\(HTML.urlComponent(task.id))/survey", responseID: crm.replica.makeRowID(),
                    strings: session.strings, error: nil))
        }
        pages(router, .agent, .manager).post("/desk/tasks/:id/survey") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let form = try await request.form(context: context)
            do {
                let task = try await crm.followUps.task(id)
                let template = try await Self.phoneTemplate(crm, task)
                try await Self.submitSurvey(
                    crm, session.caller, form, template, patientId: task.patientId, wardId: task.wardId,
                    departmentId: task.departmentId, mode: .phone, taskId: task.id)
            } catch let error as CRMError where error.refusesInput {
                let task = try await crm.followUps.task(id)
                let template = try await Self.phoneTemplate(crm, task)
                return session.page(
                    session.strings["phoneSurvey"],
                    Self.surveyForm(
                        template, action: "/desk/tasks/\(HTML.urlComponent(task.id))/survey",
                        responseID: form["responseId"] ?? "", strings: session.strings, error: session.strings.refusal(error.message)))
            }
            return WebPage.redirect("/desk")
        }
        pages(router, .agent, .manager).post("/patients/:id/consultation") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let form = try await request.form(context: context)
            _ = try await crm.service.registerConsultation(
                session.caller, patientId: id, phone: nil, topic: form["topic"] ?? "", content: form["content"] ?? "", handling: form["handling"])
            return WebPage.redirect("/patients/\(HTML.urlComponent(id))")
        }
        pages(router, .agent, .manager).post("/patients/:id/complaint") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let form = try await request.form(context: context)
            _ = try await crm.complaints.register(
                session.caller, ComplaintInput(patientId: id, departmentId: form["departmentId"], summary: form["summary"] ?? "", channel: form["channel"]))
            return WebPage.redirect("/patients/\(HTML.urlComponent(id))")
        }
        pages(router, .agent, .manager).post("/patients/:id/appointment") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let form = try await request.form(context: context)
            // `datetime-local` gives local time without an offset: the hospital's.
            let when = (form["when"] ?? "") + ":00" + String(crm.currentTimestamp().suffix(6))
            _ = try await crm.service.bookAppointment(session.caller, patientId: id, kind: form["kind"] ?? "", departmentId: form["departmentId"], doctorId: nil, scheduledAt: when)
            return WebPage.redirect("/patients/\(HTML.urlComponent(id))")
        }
        pages(router, .agent, .manager).post("/patients/:id/blacklist") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let form = try await request.form(context: context)
            guard let phone = try await crm.patients.patient(id).phone else { throw CRMError(.invalid, "the patient has no phone number") }
            try await crm.service.setBlacklisted(session.caller, phone: phone, blacklisted: form["blacklisted"] == "1", reason: form["reason"])
            return WebPage.redirect("/patients/\(HTML.urlComponent(id))")
        }
        pages(router, .agent, .manager).get("/blacklist") { request, context in
            let session = try context.session()
            return try await Self.blacklistPage(crm, session, refusal: nil, saved: request.query("saved") != nil)
        }
        pages(router, .agent, .manager).post("/blacklist") { request, context in
            let session = try context.session()
            let form = try await request.form(context: context)
            do {
                try await crm.service.setBlacklisted(
                    session.caller, phone: form["phone"] ?? "", blacklisted: form["blacklisted"] == "1", reason: form["reason"])
            } catch let error as CRMError where error.refusesInput {
                return try await Self.blacklistPage(crm, session, refusal: session.strings.refusal(error.message), saved: false)
            }
            return WebPage.redirect("/blacklist?saved=1")
        }
    }

    /// The call center's blacklist: numbers shown masked with whose archives they are, why and by
    /// whom; a number typed in is added or taken off.
    static func blacklistPage(_ crm: CRM, _ session: WebSession, refusal: String?, saved: Bool) async throws -> Response {
        let s = session.strings
        let entries = try await crm.service.blacklist(session.caller)
        var html = errorBanner(refusal)
        html += """
            <form method="post" action="/blacklist" class="card" id="blacklist-form"><h2>\(s["blacklistNumber"])</h2><div class="grid">
            <div><label for="b-phone">\(s["phone"])</label><input type="tel" id="b-phone" name="phone" required maxlength="30" autocomplete="off"></div>
            <div><label for="b-reason">\(s["reason"])</label><input type="text" id="b-reason" name="reason" maxlength="200"></div></div>
            <p><button type="submit" name="blacklisted" value="1" class="danger">\(s["blacklist"])</button>
            <button type="submit" name="blacklisted" value="0" class="secondary">\(s["unblacklist"])</button></p></form>
            """
        guard !entries.isEmpty else { return session.page(s["blacklistPage"], html + "<p class=\"muted\">\(s["noRows"])</p>", flash: saved ? s["saved"] : nil) }
        html +=
            "<table id=\"blacklist\"><thead><tr><th>\(s["phone"])</th><th>\(s["patients"])</th><th>\(s["reason"])</th><th>\(s["who"])</th><th>\(s["when"])</th></tr></thead><tbody>"
        html += entries.markup { entry in
            let archives = entry.archives.map { "<a href=\"/patients/\(HTML.urlComponent($0.id))\">\(e($0.name))</a>" as Markup }.joined(separator: " · ")
            return
                "<tr><td>\(e(entry.number))</td><td>\(archives)</td><td>\(e(entry.reason))</td><td>\(e(entry.userId))</td><td>\(e(entry.at.map { String($0.prefix(10)) }))</td></tr>"
        }
        return session.page(s["blacklistPage"], html + "</tbody></table>", flash: saved ? s["saved"] : nil)
    }

    /// The template a phone follow-up uses: the task's, else the first for discharge calls.
    /// The task's template, else the discharge template for the diagnosis of the task's encounter.
    package static func phoneTemplate(_ crm: CRM, _ task: FollowUpTask) async throws -> SurveyTemplate {
        if let id = task.templateId { return try await crm.surveys.template(id) }
        var diagnosis: String?
        if let encounterId = task.encounterId { diagnosis = try await crm.encounters.encounter(encounterId).diagnosisCode }
        do {
            return try await crm.surveys.surveyTemplate(purpose: "discharge", diagnosisCode: diagnosis)
        } catch let error as CRMError where error.kind == .notFound {
            // No discharge template yet: any active one lets the agent still record answers.
            guard let any = try await crm.surveys.templates().first(where: \.active) else { throw error }
            return any
        }
    }

    /// The agent's forms on an archive: consultation, complaint, appointment, blacklist.
    package static func serviceForms(_ patient: Patient, departments: [ReferenceItem], s: Strings) -> Markup {
        let id = HTML.urlComponent(patient.id)
        let departmentOptions = departments.markup { "<option value=\"\(e($0.id))\">\(e($0.name))</option>" }
        return """
            <div class="grid">
            <form method="post" action="/patients/\(id)/consultation" class="card"><h2>\(s["consultation"])</h2>
              <label for="c-topic">\(s["topic"])</label><input type="text" id="c-topic" name="topic" required maxlength="100">
              <label for="c-content">\(s["content"])</label><textarea id="c-content" name="content" required maxlength="4000"></textarea>
              <label for="c-handling">\(s["handling"])</label><textarea id="c-handling" name="handling" maxlength="4000"></textarea>
              <p><button type="submit">\(s["save"])</button></p></form>
            <form method="post" action="/patients/\(id)/complaint" class="card"><h2>\(s["complaint"])</h2>
              <label for="p-summary">\(s["summary"])</label><textarea id="p-summary" name="summary" required maxlength="2000"></textarea>
              <label for="p-department">\(s["department"])</label><select id="p-department" name="departmentId"><option value="">—</option>\(departmentOptions)</select>
              <label for="p-channel">\(s["channel"])</label><select id="p-channel" name="channel">\(["phone", "visit", "letter", "online"].markup { "<option value=\"\($0)\">\(s["channel_" + $0])</option>" })</select>
              <p><button type="submit">\(s["save"])</button></p></form>
            <form method="post" action="/patients/\(id)/appointment" class="card"><h2>\(s["appointment"])</h2>
              <label for="a-kind">\(s["kind"])</label><select id="a-kind" name="kind"><option value="visit">\(s["visit"])</option><option value="examination">\(s["examination"])</option></select>
              <label for="a-department">\(s["department"])</label><select id="a-department" name="departmentId">\(departmentOptions)</select>
              <label for="a-when">\(s["when"])</label><input type="datetime-local" id="a-when" name="when" required>
              <p><button type="submit">\(s["save"])</button></p></form>
            <form method="post" action="/patients/\(id)/blacklist" class="card"><h2>\(s["blacklist"])</h2>
              <label for="b-reason">\(s["reason"])</label><input type="text" id="b-reason" name="reason" maxlength="200">
              <p><button type="submit" name="blacklisted" value="1" class="danger">\(s["blacklist"])</button>
              <button type="submit" name="blacklisted" value="0" class="secondary">\(s["unblacklist"])</button></p></form>
            </div>
            """
    }
}
