import CRMDomain
import Foundation
import Hummingbird
import NIOCore
import NodeRuntime
import ServiceLifecycle

/// The call-center desk: today's queue, claims, outcomes, and the screen pop.
extension WebUI {
    package struct ScreenPopRequest: Codable {
        /// The agent whose phone rings.
        var agent: String
        var phone: String
    }
    package struct ScreenPopResult: Codable {
        var delivered: Int
        var patients: Int
    }

    /// Tasks on one page of the desk.
    package static let deskPageSize = 100

    package func addDesk(to router: Router<APIRequestContext>) {
        let crm = self.crm, screenPops = self.screenPops
        pages(router, .agent, .manager).get("/desk") { request, context in
            let session = try context.session()
            let caller = session.caller
            // The desk is phone work: bedside visits belong to the ward tablets. Oldest due first,
            // a page at a time.
            let page = try PageRequest(after: request.query("after"), limit: Self.deskPageSize)
            let (queue, lost) = await (try await crm.followUps.queue(caller, phoneWork: true, page: page), try crm.followUps.lostClaims(caller))
            var flash: String?
            if request.query("lost") != nil { flash = session.strings["claimLost"] }
            let tomorrow = crm.time.day(crm.today(), plus: 1) ?? crm.today()
            var html = Self.desk(queue.items, lost: lost, caller: caller, page: page.after, today: crm.today(), retryOn: tomorrow, s: session.strings)
            if let next = queue.next { html += "<p><a id=\"desk-next\" href=\"/desk?after=\(HTML.urlComponent(next))\">\(session.strings["more"])</a></p>" }
            return session.page(session.strings["desk"], html, flash: flash)
        }
        pages(router, .agent, .manager).post("/desk/tasks/:id/claim") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let form = try await request.form(context: context)
            do {
                _ = try await crm.followUps.claim(session.caller, taskId: id)
            } catch let error as CRMError where error.kind == .conflict {
                return WebPage.redirect("/desk?lost=\(HTML.urlComponent(id))")
            }
            return WebPage.redirect(Self.deskPage(after: form["after"]) + "#task-\(HTML.urlComponent(id))")
        }
        pages(router, .agent, .manager).post("/desk/tasks/:id/record") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let form = try await request.form(context: context)
            guard let outcome = form["outcome"].flatMap(FollowUpOutcome.init(rawValue:)) else { throw CRMError(.invalid, "choose an outcome") }
            // No answer: the task comes back on the day given (the form offers tomorrow); left empty,
            // it closes as not reached.
            let retryOn = outcome == .noAnswer ? form["retryOn"] : nil  // an empty field reads as nil
            _ = try await crm.followUps.record(
                session.caller, taskId: id, outcome: outcome, note: form["note"], nextAction: form["nextAction"], retryOn: retryOn)
            return WebPage.redirect(Self.deskPage(after: form["after"]))
        }
        pages(router, .agent).get("/desk/events") { request, context in
            let session = try context.session()
            let (stream, end) = screenPops.subscribe(agent: session.caller.userId)
            // Ends when the desk closes (a heartbeat write fails) or the node shuts down.
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
                body: .init { writer in
                    try await withGracefulShutdownHandler {
                        try await writer.write(ByteBuffer(string: ": connected\n\n"))
                        for await snippet in stream {
                            if snippet.isEmpty { try await writer.write(ByteBuffer(string: ": heartbeat\n\n")); continue }
                            let data = snippet.split(separator: "\n").map { "data: \($0)" }.joined(separator: "\n")
                            try await writer.write(ByteBuffer(string: "event: call\n\(data)\n\n"))
                        }
                    } onGracefulShutdown: {
                        end()
                    }
                    try await writer.finish(nil)
                })
        }
        // The phone system's hook: a call for an agent pops the caller's archive on that agent's desk.
        // The PBX calls it with a machine credential of scope screen-pop; people with their session.
        router.post("/api/screen-pop") { request, context in
            if context.machine != nil {
                _ = try context.requireMachine(.screenPop)  // the PBX: any agent's desk
            } else {
                let caller = try context.requireCaller()
                if caller.role != .agent { try caller.require(.manager, .admin) }
            }
            let body = try await request.json(ScreenPopRequest.self, context: context)
            if context.machine == nil, let caller = context.caller, caller.role == .agent, caller.userId != body.agent {
                throw CRMError(.forbidden, "an agent pops only their own desk")
            }
            let lookup = try await crm.patients.lookupCaller(Caller(userId: body.agent, role: .agent), phone: body.phone)
            let strings = Strings(language: request.language)
            let delivered = screenPops.publish(Self.popSnippet(lookup, strings).html, to: body.agent)
            return try JSONResponse.make(ScreenPopResult(delivered: delivered, patients: lookup.patients.count))
        }
    }

    package static func popSnippet(_ lookup: CallerLookup, _ s: Strings) -> Markup {
        let people = lookup.patients.map { patient -> Markup in
            "<li><a href=\"/patients/\(HTML.urlComponent(patient.id))\" class=\"pop-patient\">\(patient.name)</a> · \(patient.birthDate) · \(patient.region)</li>"
        }
        let warning: Markup = lookup.blacklisted ? " <span class=\"overdue\">⚠ blacklist</span>" : .empty
        let list: Markup = people.isEmpty ? "<li>\(s["noRows"])</li>" : people.joined()
        return """
            <strong>\(s["screenPop"]): \(PhoneNumber.masked(lookup.number))</strong>\(warning)
            <ul id="pop-patients">\(list)</ul>
            """
    }

    /// The desk's page that starts after `after` (its forms send the agent back to it).
    static func deskPage(after: String?) -> String {
        after.map { "/desk?after=\(HTML.urlComponent($0))" } ?? "/desk"
    }

    /// The desk's queue, one page of it (`page`: the cursor it starts after); `retryOn` is the day a
    /// no-answer comes back unless the agent picks another, from `today` on.
    package static func desk(_ queue: [QueueEntry], lost: [LostClaim], caller: Caller, page: String?, today: String, retryOn: String, s: Strings) -> Markup {
        let keepPlace: Markup = page.map { "<input type=\"hidden\" name=\"after\" value=\"\(e($0))\">" } ?? .empty
        var html: Markup = "<div id=\"screenpop\" tabindex=\"-1\" aria-live=\"assertive\"></div>"
        if !lost.isEmpty {
            let claims = lost.map { claim -> Markup in "\(claim.taskId) → \(claim.winner)" }
            html += "<div class=\"error\" role=\"alert\" id=\"lost-claims\">\(s["claimLost"]): \(claims.joined(separator: ", "))</div>"
        }
        guard !queue.isEmpty else { return html + "<p class=\"muted\">\(s["noRows"])</p>" }
        let rows = queue.map { entry -> Markup in
            let task = entry.task
            let due: Markup = entry.overdue ? "<span class=\"overdue\">\(s["overdue"])</span>" : "<span class=\"due\">\(s["due"])</span>"
            let action: Markup
            if task.claimedBy == nil {
                action =
                    "<form method=\"post\" action=\"/desk/tasks/\(HTML.urlComponent(task.id))/claim\">\(keepPlace)<button type=\"submit\" class=\"claim\">\(s["claim"])</button></form>"
            } else if task.claimedBy == caller.userId {
                let outcomes = FollowUpOutcome.allCases.map { outcome -> Markup in "<option value=\"\(outcome.rawValue)\">\(s[outcome.rawValue])</option>" }
                action = """
                    <form method="post" action="/desk/tasks/\(HTML.urlComponent(task.id))/record" class="record">\(keepPlace)
                    <label for="o-\(task.id)">\(s["outcome"])</label><select id="o-\(task.id)" name="outcome">
                    \(outcomes.joined())</select>
                    <label for="n-\(task.id)">\(s["note"])</label><input type="text" id="n-\(task.id)" name="note">
                    <label for="a-\(task.id)">\(s["nextAction"])</label><input type="text" id="a-\(task.id)" name="nextAction">
                    <label for="r-\(task.id)">\(s["retryOn"])</label><input type="date" id="r-\(task.id)" name="retryOn" value="\(retryOn)" min="\(today)">
                    <p><button type="submit">\(s["record"])</button>
                    <a class="button secondary" href="/desk/tasks/\(HTML.urlComponent(task.id))/survey">\(s["phoneSurvey"])</a></p></form>
                    """
            } else {
                action = "\(s["claimedBy"]): \(task.claimedBy)"
            }
            let patient =
                entry.patient.map { patient -> Markup in
                    "<a href=\"/patients/\(HTML.urlComponent(patient.id))\">\(patient.name)</a><br><span class=\"muted\">\(patient.phone)</span>"
                } ?? .empty
            return "<tr id=\"task-\(task.id)\" data-task=\"\(task.id)\"><td>\(patient)</td><td>\(s[task.kind])</td><td>\(task.dueDate) \(due)</td><td>\(action)</td></tr>"
        }
        return html
            + "<h2>\(s["queue"]) (\(queue.count))</h2><table><thead><tr><th>\(s["name"])</th><th></th><th>\(s["due"])</th><th></th></tr></thead><tbody>\(rows.joined())</tbody></table>"
    }
}
