import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime

/// Planning calls (`/tasks`): a one-off call on a chosen day, given to a named agent or kept for
/// oneself, and the coming days' open calls with who holds them, where a manager gives an
/// unclaimed call to an agent. Working today's calls is the desk.
extension WebUI {
    /// Calls on one page of the list.
    package static let taskPageSize = 50

    package func addTasks(to router: Router<APIRequestContext>) {
        let crm = self.crm
        pages(router, .agent, .manager).get("/tasks") { request, context in
            let session = try context.session()
            return try await Self.tasksPage(crm, session, FormFields(request.uri.query ?? ""), draft: nil, error: nil)
        }
        pages(router, .agent, .manager).post("/tasks") { request, context in
            let session = try context.session()
            let form = try await request.form(context: context)
            // An agent keeps a call for themselves; a manager names anyone.
            let assignee = session.caller.role == .manager ? form["assignee"] : (form["mine"] == "1" ? session.caller.userId : nil)
            do {
                _ = try await crm.followUps.createTask(
                    session.caller, patientId: form["patientId"] ?? "", dueDate: form["dueDate"] ?? "", note: form["note"], templateId: form["templateId"],
                    assignee: assignee)
            } catch let error as CRMError where error.refusesInput || error.kind == .notFound {
                return try await Self.tasksPage(crm, session, FormFields(""), draft: form, error: session.strings.refusal(error.message))
            }
            return WebPage.redirect("/tasks?saved=1")
        }
        pages(router, .manager).post("/tasks/:id/assign") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let form = try await request.form(context: context)
            do {
                try await crm.followUps.assign(session.caller, taskId: id, to: form["assignee"] ?? "")
            } catch let error as CRMError where error.refusesInput || error.kind == .notFound || error.kind == .conflict {
                return try await Self.tasksPage(crm, session, form, draft: nil, error: session.strings.refusal(error.message))
            }
            return WebPage.redirect("/tasks?" + Self.taskFilterQuery(form) + "&saved=1")
        }
    }

    /// The holder filter's value for the calls nobody holds yet (absent or `*`: everyone's).
    static let unclaimedHolder = "-"

    /// The list's filters as a query (re-encoded, only the known ones).
    static func taskFilterQuery(_ fields: FormFields, after: String? = nil) -> String {
        var pairs = ["from", "to", "holder"].compactMap { key in fields[key].map { "\(key)=\(HTML.urlComponent($0))" } }
        if let after { pairs.append("after=\(HTML.urlComponent(after))") }
        return pairs.joined(separator: "&")
    }

    static func tasksPage(_ crm: CRM, _ session: WebSession, _ query: FormFields, draft: FormFields?, error: String?) async throws -> Response {
        let s = session.strings
        let manager = session.caller.role == .manager
        let today = crm.today()
        let from = query["from"] ?? today
        let to = query["to"] ?? crm.time.day(from, plus: 7) ?? from
        let holderChoice = query["holder"] ?? "*"
        let holder: String? = holderChoice == "*" ? nil : holderChoice == Self.unclaimedHolder ? "" : holderChoice
        var refusal = error
        var list = Page<QueueEntry>(items: [], next: nil)
        do {
            list = try await crm.followUps.openCalls(
                session.caller, range: DayRange(from: from, to: to), holder: holder, page: try PageRequest(after: query["after"], limit: Self.taskPageSize))
        } catch let error as CRMError where error.refusesInput {
            refusal = session.strings.refusal(error.message)
        }
        let (people, templates) = await (try crm.accounts.assignees(session.caller), try crm.surveys.templates())
        var html = errorBanner(refusal)
        let holders: [(String, String)] = [("*", s["cs_all"]), (Self.unclaimedHolder, s["taskUnclaimed"])] + people.map { ($0.id, $0.displayName) }
        html += """
            <form method="get" action="/tasks" class="card" id="task-filter"><div class="grid">
            <div><label for="f-from">\(s["from"])</label><input type="date" id="f-from" name="from" value="\(e(from))"></div>
            <div><label for="f-to">\(s["to"])</label><input type="date" id="f-to" name="to" value="\(e(to))"></div>
            <div><label for="f-holder">\(s["claimedBy"])</label><select id="f-holder" name="holder">\(holders.markup { id, name in "<option value=\"\(e(id))\"\(id == holderChoice ? " selected" : "")>\(e(name))</option>" })</select></div></div>
            <p><button type="submit" class="secondary">\(s["filter"])</button></p></form>
            """
        let rows = list.items.map { entry -> Markup in
            let task = entry.task
            var holderCell: Markup = e(task.claimedBy.map { id in people.first { $0.id == id }?.displayName ?? id })
            if manager, task.claimedBy == nil {
                holderCell = """
                    <form method="post" action="/tasks/\(HTML.urlComponent(task.id))/assign" class="inline assign">
                    <input type="hidden" name="from" value="\(e(from))"><input type="hidden" name="to" value="\(e(to))"><input type="hidden" name="holder" value="\(e(holderChoice))">
                    <label class="visually-hidden" for="assign-\(e(task.id))">\(s["taskAssign"])</label>
                    <select id="assign-\(e(task.id))" name="assignee">\(people.markup { "<option value=\"\(e($0.id))\">\(e($0.displayName))</option>" })</select>
                    <button type="submit" class="secondary">\(s["taskAssign"])</button></form>
                    """
            }
            return """
                <tr id="task-\(e(task.id))"\(entry.overdue ? " class=\"overdue\"" as Markup : .empty)><td>\(task.dueDate)</td>
                <td><a href="/patients/\(HTML.urlComponent(task.patientId))">\(e(entry.patient?.name ?? task.patientId))</a></td>
                <td>\(s[task.kind])</td><td>\(e(task.note))</td><td>\(holderCell)</td></tr>
                """
        }
        html +=
            list.items.isEmpty
            ? "<p class=\"muted\">\(s["noRows"])</p>"
            : "<table id=\"open-calls\"><thead><tr><th>\(s["dueDate"])</th><th>\(s["name"])</th><th>\(s["kind"])</th><th>\(s["note"])</th><th>\(s["claimedBy"])</th></tr></thead><tbody>\(rows.joined())</tbody></table>"
        if let next = list.next {
            var fields = FormFields("")
            fields.set("from", from)
            fields.set("to", to)
            fields.set("holder", holderChoice)
            html += "<p><a id=\"tasks-next\" href=\"/tasks?\(taskFilterQuery(fields, after: next))\">\(s["more"])</a></p>"
        }
        let assigneeField: Markup =
            manager
            ? "<div><label for=\"t-assignee\">\(s["taskAssignee"])</label><select id=\"t-assignee\" name=\"assignee\"><option value=\"\">—</option>\(people.markup { "<option value=\"\(e($0.id))\"\($0.id == draft?["assignee"] ? " selected" : "")>\(e($0.displayName))</option>" })</select></div>"
            : "<div><label><input type=\"checkbox\" name=\"mine\" value=\"1\"\(draft?["mine"] == "1" ? " checked" : "")> \(s["taskMine"])</label></div>"
        html += """
            <form method="post" action="/tasks" class="card" id="task-form"><h2>\(s["taskNew"])</h2><div class="grid">
            <div><label for="t-patient">\(s["archiveId"])</label><input type="text" id="t-patient" name="patientId" value="\(e(draft?["patientId"] ?? query["patient"]))" required></div>
            <div><label for="t-due">\(s["dueDate"])</label><input type="date" id="t-due" name="dueDate" value="\(e(draft?["dueDate"]))" required></div>
            <div><label for="t-template">\(s["ruleSurvey"])</label><select id="t-template" name="templateId"><option value="">—</option>\(templates.markup { "<option value=\"\(e($0.id))\"\($0.id == draft?["templateId"] ? " selected" : "")>\(e($0.name))</option>" })</select></div>
            \(assigneeField)</div>
            <label for="t-note">\(s["note"])</label><textarea id="t-note" name="note" maxlength="500" rows="2">\(e(draft?["note"]))</textarea>
            <p><button type="submit" id="create-task">\(s["save"])</button></p></form>
            """
        return session.page(s["taskPlanning"], html, flash: query["saved"] != nil ? s["saved"] : nil)
    }
}
