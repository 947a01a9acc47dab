import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime

/// The SMS platform's pages: the group send with its campaigns (cancel what has not gone out),
/// the outbox (filters, paging, cancel a scheduled message, resend a failed one), the template
/// editor, and the one-to-one send from an archive. The replies page is WebRoutes+SMSReplies.
extension WebUI {
    /// Messages on one page of the outbox.
    package static let outboxPageSize = 50
    /// The outbox filters a page link or a form carries.
    static let outboxFilterKeys = ["status", "campaignId", "patientId", "phone", "from", "to"]

    package func addSMS(to router: Router<APIRequestContext>) {
        let crm = self.crm
        pages(router, .manager, .admin).get("/sms") { request, context in
            let session = try context.session()
            let query = FormFields(request.uri.query ?? "")
            return try await Self.composerPage(crm, session, query, count: request.query("count") != nil, error: nil)
        }
        pages(router, .manager, .admin).post("/sms/campaigns") { request, context in
            let session = try context.session()
            let form = try await request.form(context: context)
            do {
                let when = try form["scheduledAt"].map { text in
                    guard let stamp = Self.localTimestamp(text, crm.time) else { throw CRMError(.invalid, session.strings["timeRequired"]) }
                    return stamp
                }
                _ = try await crm.sms.createCampaign(
                    session.caller, name: form["name"] ?? "", templateId: form["templateId"] ?? "", audience: Self.audience(form), scheduledAt: when,
                    surveyTemplateId: form["surveyTemplateId"])
            } catch let error as CRMError where error.refusesInput || error.kind == .notFound {
                return try await Self.composerPage(crm, session, form, count: false, error: session.strings.refusal(error.message))
            }
            return WebPage.redirect("/sms?saved=1#campaigns")
        }
        pages(router, .manager, .admin).post("/sms/campaigns/:id/cancel") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            do {
                try await crm.sms.cancelCampaign(session.caller, id: id)
            } catch let error as CRMError where error.kind == .notFound || error.kind == .conflict {
                return try await Self.composerPage(crm, session, FormFields(""), count: false, error: session.strings.refusal(error.message))
            }
            return WebPage.redirect("/sms?saved=1#campaigns")
        }
        pages(router, .agent, .manager, .admin).get("/sms/outbox") { request, context in
            let session = try context.session()
            return try await Self.outboxPage(crm, session, FormFields(request.uri.query ?? ""), error: nil)
        }
        for action in ["cancel", "resend"] {
            pages(router, .agent, .manager).post("/sms/:id/\(action)") { request, context in
                let session = try context.session()
                let id = try context.parameters.id()
                let form = try await request.form(context: context)
                do {
                    if action == "cancel" { try await crm.sms.cancel(session.caller, id: id) } else { try await crm.sms.resend(session.caller, id: id) }
                } catch let error as CRMError where error.kind == .notFound || error.kind == .conflict {
                    return try await Self.outboxPage(crm, session, form, error: session.strings.refusal(error.message))
                }
                return WebPage.redirect("/sms/outbox?" + Self.outboxQuery(form, saved: true))
            }
        }
        pages(router, .manager, .admin).get("/sms/templates") { request, context in
            let session = try context.session()
            let templates = try await crm.sms.templates()
            let editing = request.query("edit").flatMap { id in templates.first { $0.id == id } }
            return Self.smsTemplatesPage(templates, editing: editing, error: nil, session: session, saved: request.query("saved") != nil)
        }
        pages(router, .manager, .admin).post("/sms/templates") { request, context in
            let session = try context.session()
            let form = try await request.form(context: context)
            let template = SMSTemplate(id: form["id"] ?? "", name: form["name"] ?? "", kind: form["kind"] ?? "", body: form["body"] ?? "")
            do {
                try await crm.sms.saveTemplate(session.caller, template)
            } catch let error as CRMError where error.refusesInput {
                return Self.smsTemplatesPage(try await crm.sms.templates(), editing: template, error: session.strings.refusal(error.message), session: session, saved: false)
            }
            return WebPage.redirect("/sms/templates?saved=1")
        }
        pages(router, .agent, .manager).post("/patients/:id/sms") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let form = try await request.form(context: context)
            do {
                let templates = try await crm.sms.templates()
                guard let body = form["body"] ?? form["templateId"].flatMap({ chosen in templates.first { $0.id == chosen }?.body }) else {
                    throw CRMError(.invalid, session.strings["smsBodyRequired"])
                }
                let when = try form["scheduledAt"].map { text in
                    guard let stamp = Self.localTimestamp(text, crm.time) else { throw CRMError(.invalid, session.strings["timeRequired"]) }
                    return stamp
                }
                _ = try await crm.sms.send(session.caller, patientId: id, phone: nil, body: body, scheduledAt: when)
            } catch let error as CRMError where error.refusesInput || error.kind == .conflict {
                return try await Self.patientPage(crm, session, id: id, smsDraft: form, error: session.strings.refusal(error.message))
            }
            return WebPage.redirect("/sms/outbox?patientId=\(HTML.urlComponent(id))&saved=1")
        }
    }

    package static func audience(_ form: FormFields) -> SMSAudience {
        SMSAudience(
            diseases: list(form["diseases"]), regions: list(form["regions"]), departments: form.all("departments").filter { !$0.isEmpty }.nilIfEmpty,
            dischargedSince: form["dischargedSince"], dischargedUntil: form["dischargedUntil"])
    }

    /// The group send: the audience and its count, the composer, and the campaigns with their progress.
    static func composerPage(_ crm: CRM, _ session: WebSession, _ query: FormFields, count wantsCount: Bool, error: String?) async throws -> Response {
        let s = session.strings
        var count: Int?
        var refusal = error
        if wantsCount {
            do { count = try await crm.sms.audienceCount(session.caller, audience(query)) } catch let error as CRMError where error.refusesInput {
                refusal = session.strings.refusal(error.message)
            }
        }
        let (templates, departments, campaigns, surveys) = await (
            try crm.sms.templates(), try crm.organisation.references(.department), try crm.sms.campaigns(session.caller, page: PageRequest(limit: 50)).items,
            try crm.surveys.templates()
        )
        let chosen = Set(query.all("departments"))
        let audienceFields: Markup = """
            <label for="departments">\(s["departments"])</label><select id="departments" name="departments" multiple size="5">
            \(departments.markup { "<option value=\"\(e($0.id))\"\(chosen.contains($0.id) ? " selected" : "")>\(e($0.name))</option>" })</select>
            <label for="diseases">\(s["diseases"])</label><input type="text" id="diseases" name="diseases" value="\(e(query["diseases"]))">
            <label for="regions">\(s["regions"])</label><input type="text" id="regions" name="regions" value="\(e(query["regions"]))">
            <div class="grid"><div><label for="since">\(s["dischargedSince"])</label><input type="date" id="since" name="dischargedSince" value="\(e(query["dischargedSince"]))"></div>
            <div><label for="until">\(s["dischargedUntil"])</label><input type="date" id="until" name="dischargedUntil" value="\(e(query["dischargedUntil"]))"></div></div>
            """
        var html = errorBanner(refusal)
        html += """
            <form method="get" action="/sms" class="card"><h2>\(s["audience"])</h2>\(audienceFields)
            <input type="hidden" name="count" value="1"><p><button type="submit" class="secondary">\(s["count"])</button>
            \(count.map { number -> Markup in " <b id=\"audience-count\">\(s["audienceCount"]): \(number)</b>" })</p></form>
            <form method="post" action="/sms/campaigns" class="card" id="campaign-form"><h2>\(s["send"])</h2>\(audienceFields)
            <label for="name">\(s["label"])</label><input type="text" id="name" name="name" required maxlength="100" value="\(e(query["name"]))">
            <label for="templateId">\(s["template"])</label><select id="templateId" name="templateId">\(templates.markup { "<option value=\"\(e($0.id))\"\($0.id == query["templateId"] ? " selected" : "")>\(e($0.name)) — \(e($0.body))</option>" })</select>
            <label for="surveyTemplateId">\(s["smsSurvey"])</label><select id="surveyTemplateId" name="surveyTemplateId"><option value="">—</option>\(surveys.markup { "<option value=\"\(e($0.id))\"\($0.id == query["surveyTemplateId"] ? " selected" : "")>\(e($0.name))</option>" })</select>
            <label for="scheduledAt">\(s["schedule"])</label><input type="datetime-local" id="scheduledAt" name="scheduledAt" value="\(e(query["scheduledAt"]))">
            <p><button type="submit" id="send-campaign">\(s["send"])</button></p></form>
            """
        html += "<h2 id=\"campaigns\">\(s["smsCampaigns"])</h2>"
        if campaigns.isEmpty {
            html += "<p class=\"muted\">\(s["noRows"])</p>"
        } else {
            let statuses = SMSStatus.allCases.map(\.rawValue)
            html += "<table id=\"campaign-list\"><thead><tr><th>\(s["label"])</th><th>\(s["schedule"])</th><th>\(s["audienceCount"])</th>"
            html += statuses.markup { "<th>\(s["sms_" + $0])</th>" } + "<th></th></tr></thead><tbody>"
            html += campaigns.markup { campaign in
                let id = HTML.urlComponent(campaign.id)
                let cancel: Markup =
                    (campaign.messages["queued"] ?? 0) > 0
                    ? "<form method=\"post\" action=\"/sms/campaigns/\(id)/cancel\" class=\"inline\" data-confirm=\"\(s["smsConfirmCancelCampaign"])\"><button type=\"submit\" class=\"secondary\">\(s["smsCancelRest"])</button></form>"
                    : .empty
                return """
                    <tr id="campaign-\(e(campaign.id))"><td><a href="/sms/outbox?campaignId=\(id)">\(e(campaign.name))</a></td><td>\(minute(campaign.scheduledAt))</td><td>\(campaign.audienceCount)</td>
                    \(statuses.markup { "<td>\(campaign.messages[$0] ?? 0)</td>" })<td>\(cancel)</td></tr>
                    """
            }
            html += "</tbody></table>"
        }
        return session.page(s["smsComposer"], html, flash: query["saved"] != nil ? s["saved"] : nil)
    }

    /// The outbox page's query for `fields`' filters (only the known ones, re-encoded).
    static func outboxQuery(_ fields: FormFields, saved: Bool = false, after: String? = nil) -> String {
        var pairs = outboxFilterKeys.compactMap { key in fields[key].map { "\(key)=\(HTML.urlComponent($0))" } }
        if let after { pairs.append("after=\(HTML.urlComponent(after))") }
        if saved { pairs.append("saved=1") }
        return pairs.joined(separator: "&")
    }

    /// The outbox, filtered and paged, with cancel and resend.
    static func outboxPage(_ crm: CRM, _ session: WebSession, _ query: FormFields, error: String?) async throws -> Response {
        let s = session.strings
        var refusal = error
        let status = query["status"].flatMap(SMSStatus.init(rawValue:))
        let filter = SMSOutboxFilter(
            status: status, campaignId: query["campaignId"], patientId: query["patientId"], phone: query["phone"], from: query["from"], to: query["to"])
        var list = Page<SMSMessage>(items: [], next: nil)
        do {
            list = try await crm.sms.outbox(session.caller, filter, page: try PageRequest(after: query["after"], limit: Self.outboxPageSize))
        } catch let error as CRMError where error.refusesInput {
            refusal = session.strings.refusal(error.message)
        }
        let names = await patientNames(crm, list.items.compactMap(\.patientId))
        let canAct = session.caller.role == .agent || session.caller.role == .manager
        let back = outboxFilterKeys.markup { key in query[key].map { "<input type=\"hidden\" name=\"\(key)\" value=\"\(e($0))\">" as Markup } ?? .empty }
        var html = errorBanner(refusal)
        let statuses = [""] + SMSStatus.allCases.map(\.rawValue)
        html += """
            <form method="get" action="/sms/outbox" class="card" id="outbox-filter"><div class="grid">
            <div><label for="o-status">\(s["status"])</label><select id="o-status" name="status">\(statuses.markup { "<option value=\"\($0)\"\($0 == (query["status"] ?? "") ? " selected" : "")>\($0.isEmpty ? s["cs_all"] : s["sms_" + $0])</option>" })</select></div>
            <div><label for="o-phone">\(s["phone"])</label><input type="tel" id="o-phone" name="phone" value="\(e(query["phone"]))"></div>
            <div><label for="o-from">\(s["from"])</label><input type="date" id="o-from" name="from" value="\(e(query["from"]))"></div>
            <div><label for="o-to">\(s["to"])</label><input type="date" id="o-to" name="to" value="\(e(query["to"]))"></div></div>
            \(["campaignId", "patientId"].markup { key in query[key].map { "<input type=\"hidden\" name=\"\(key)\" value=\"\(e($0))\">" as Markup } ?? .empty })
            <p><button type="submit" class="secondary" id="filter-outbox">\(s["filter"])</button></p></form>
            """
        let rows = list.items.map { message -> Markup in
            let id = HTML.urlComponent(message.id)
            var actions: Markup = .empty
            if canAct, message.status == SMSStatus.queued.rawValue {
                actions =
                    "<form method=\"post\" action=\"/sms/\(id)/cancel\" class=\"inline\" data-confirm=\"\(s["smsConfirmCancel"])\">\(back)<button type=\"submit\" class=\"secondary\">\(s["smsCancel"])</button></form>"
            } else if canAct, message.status == SMSStatus.failed.rawValue {
                actions = "<form method=\"post\" action=\"/sms/\(id)/resend\" class=\"inline\">\(back)<button type=\"submit\" class=\"secondary\">\(s["resend"])</button></form>"
            }
            let who: Markup = message.patientId.map { patient in "<a href=\"/patients/\(HTML.urlComponent(patient))\">\(e(names[patient] ?? patient))</a>" } ?? .empty
            return """
                <tr id="sms-\(e(message.id))" data-status="\(e(message.status))"><td>\(minute(message.scheduledAt))</td><td>\(who)</td><td>\(e(message.phone))</td><td>\(e(message.body))</td>
                <td>\(s["sms_" + message.status])\(message.error.map { text -> Markup in " · \(text)" })</td><td>\(actions)</td></tr>
                """
        }
        html +=
            list.items.isEmpty
            ? "<p class=\"muted\">\(s["noRows"])</p>"
            : "<table id=\"outbox\"><thead><tr><th>\(s["schedule"])</th><th>\(s["name"])</th><th>\(s["phone"])</th><th>\(s["content"])</th><th>\(s["status"])</th><th></th></tr></thead><tbody>\(rows.joined())</tbody></table>"
        if let next = list.next {
            html += "<p><a id=\"outbox-next\" href=\"/sms/outbox?\(outboxQuery(query, after: next))\">\(s["more"])</a></p>"
        }
        return session.page(s["outbox"], html, flash: query["saved"] != nil ? s["saved"] : nil)
    }

    /// The SMS templates and the editor (a new one, or `editing`).
    static func smsTemplatesPage(_ templates: [SMSTemplate], editing: SMSTemplate?, error: String?, session: WebSession, saved: Bool) -> Response {
        let s = session.strings
        var html = errorBanner(error)
        html +=
            templates.isEmpty
            ? "<p class=\"muted\">\(s["noRows"])</p>"
            : "<table id=\"sms-templates\"><thead><tr><th>\(s["code"])</th><th>\(s["label"])</th><th>\(s["kind"])</th><th>\(s["content"])</th></tr></thead><tbody>"
                + templates.markup {
                    "<tr><td><a href=\"/sms/templates?edit=\(HTML.urlComponent($0.id))#sms-template-form\">\(e($0.id))</a></td><td>\(e($0.name))</td><td>\(s["smsKind_" + $0.kind])</td><td>\(e($0.body))</td></tr>"
                } + "</tbody></table>"
        let known = templates.contains { $0.id == editing?.id }
        html += """
            <form method="post" action="/sms/templates" class="card" id="sms-template-form"><h2>\(known ? s["smsEditTemplate"] : s["smsNewTemplate"])</h2>
            <p class="muted">\(s["smsTemplateHint"])</p><div class="grid">
            <div><label for="t-id">\(s["code"])</label><input type="text" id="t-id" name="id" required maxlength="40" pattern="[A-Za-z0-9_-]{1,40}" value="\(e(editing?.id))"\(known ? " readonly" : "")></div>
            <div><label for="t-name">\(s["label"])</label><input type="text" id="t-name" name="name" required maxlength="100" value="\(e(editing?.name))"></div>
            <div><label for="t-kind">\(s["kind"])</label><select id="t-kind" name="kind">\(CRM.SMS.templateKinds.markup { "<option value=\"\($0)\"\($0 == editing?.kind ? " selected" : "")>\(s["smsKind_" + $0])</option>" })</select></div></div>
            <label for="t-body">\(s["content"])</label><textarea id="t-body" name="body" required maxlength="500" rows="3">\(e(editing?.body))</textarea>
            <p><button type="submit" id="save-sms-template">\(s["save"])</button></p></form>
            """
        return session.page(s["smsTemplates"], html, flash: saved ? s["saved"] : nil)
    }

    /// The one-to-one send on an archive: a template or a text of one's own, now or later.
    static func smsForm(_ patient: Patient, templates: [SMSTemplate], draft: FormFields?, s: Strings) -> Markup {
        guard patient.phone != nil else { return "<p class=\"muted\" id=\"patient-sms\">\(s["smsSend"]): \(s["smsNoPhone"])</p>" }
        let chosen = draft?["templateId"]
        return """
            <form method="post" action="/patients/\(HTML.urlComponent(patient.id))/sms" class="card" id="patient-sms"><h2>\(s["smsSend"])</h2>
            <label for="p-sms-template">\(s["template"])</label><select id="p-sms-template" name="templateId"><option value="">—</option>\(templates.markup { "<option value=\"\(e($0.id))\"\($0.id == chosen ? " selected" : "")>\(e($0.name)) — \(e($0.body))</option>" })</select>
            <label for="p-sms-body">\(s["smsOwnText"])</label><textarea id="p-sms-body" name="body" maxlength="500" rows="2">\(e(draft?["body"]))</textarea>
            <label for="p-sms-at">\(s["schedule"])</label><input type="datetime-local" id="p-sms-at" name="scheduledAt" value="\(e(draft?["scheduledAt"]))">
            <p><button type="submit" id="send-patient-sms">\(s["send"])</button></p></form>
            """
    }
}
