import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime

/// Follow-up rules (随访规则): the list, the editor (new, or change and deactivate one) with a
/// preview of the encounters it matches, and applying a rule to encounters from before it.
extension WebUI {
    /// How far back the preview looks.
    package static let rulePreviewDays = 90

    package func addRules(to router: Router<APIRequestContext>) {
        let crm = self.crm
        pages(router, .manager, .admin).get("/rules") { request, context in
            let session = try context.session()
            let rules = try await crm.followUps.rules()
            var form: FormFields?
            if let id = request.query("edit"), let rule = rules.first(where: { $0.id == id }) { form = Self.ruleForm(rule) }
            return try await Self.rulesPage(crm, session, rules: rules, form: form, preview: nil, error: nil, flash: request.query("saved") != nil ? session.strings["saved"] : nil)
        }
        pages(router, .manager, .admin).post("/rules") { request, context in
            let session = try context.session()
            let form = try await request.form(context: context)
            let rule = Self.rule(form)
            do {
                if form["action"] == "preview" {
                    let since = crm.time.day(crm.today(), plus: -Self.rulePreviewDays) ?? crm.today()
                    let preview = try await crm.followUps.previewRule(session.caller, rule, since: since)
                    return try await Self.rulesPage(crm, session, rules: try await crm.followUps.rules(), form: form, preview: preview, error: nil, flash: nil)
                }
                _ = try await crm.followUps.saveRule(session.caller, rule)
            } catch let error as CRMError where error.refusesInput || error.kind == .notFound {
                return try await Self.rulesPage(
                    crm, session, rules: try await crm.followUps.rules(), form: form, preview: nil, error: session.strings.refusal(error.message), flash: nil)
            }
            return WebPage.redirect("/rules?saved=1")
        }
        pages(router, .manager, .admin).post("/rules/:id/apply") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let form = try await request.form(context: context)
            let rules = try await crm.followUps.rules()
            do {
                let made = try await crm.followUps.applyRule(session.caller, ruleId: id, since: form["since"] ?? "")
                let flash = "\(session.strings["ruleApplied"]): \(made)"
                return try await Self.rulesPage(crm, session, rules: rules, form: nil, preview: nil, error: nil, flash: flash)
            } catch let error as CRMError where error.refusesInput || error.kind == .notFound {
                return try await Self.rulesPage(crm, session, rules: rules, form: nil, preview: nil, error: session.strings.refusal(error.message), flash: nil)
            }
        }
    }

    /// The rule a posted editor describes.
    package static func rule(_ form: FormFields) -> FollowUpRule {
        let kind = FollowUpRule.Kind(rawValue: form["kind"] ?? "") ?? .fixedOffset
        let filter = RuleFilter(
            departments: form.all("departments").filter { !$0.isEmpty }.nilIfEmpty, wards: form.all("wards").filter { !$0.isEmpty }.nilIfEmpty,
            diagnosisPrefixes: list(form["diseases"]), minStayDays: form["minStay"].flatMap(Int.init), maxStayDays: form["maxStay"].flatMap(Int.init),
            dischargeStatuses: form.all("dischargeStatuses").compactMap(DischargeStatus.init(rawValue:)).nilIfEmpty)
        let interval = form["interval"].flatMap(Int.init)
        let months = form["intervalUnit"] == "months"
        let action = FollowUpRule.Action(rawValue: form["ruleAction"] ?? "") ?? .call
        return FollowUpRule(
            id: form["id"], name: form["name"] ?? "", kind: kind, triggerEvent: TriggerEvent(rawValue: form["trigger"] ?? "") ?? .discharge,
            offsets: kind == .fixedOffset ? list(form["offsets"])?.compactMap { Int($0) } : nil,
            intervalDays: kind == .periodic && !months ? interval : nil, intervalMonths: kind == .periodic && months ? interval : nil,
            repeatCount: kind == .periodic ? form["repeat"].flatMap(Int.init) : nil, filter: filter,
            templateId: form["templateId"], active: form["id"] == nil || form["active"] == "1",
            action: action, smsTemplateId: action == .sms ? form["smsTemplateId"] : nil)
    }

    /// The editor's fields for a saved rule.
    static func ruleForm(_ rule: FollowUpRule) -> FormFields {
        var form = FormFields("")
        form.set("id", rule.id)
        form.set("name", rule.name)
        form.set("kind", rule.kind.rawValue)
        form.set("trigger", rule.triggerEvent.rawValue)
        form.set("offsets", rule.offsets?.map(String.init).joined(separator: ","))
        form.set("interval", (rule.intervalMonths ?? rule.intervalDays).map(String.init))
        form.set("intervalUnit", rule.intervalMonths != nil ? "months" : "days")
        form.set("repeat", rule.repeatCount.map(String.init))
        form.set("diseases", rule.filter.diagnosisPrefixes?.joined(separator: ","))
        form.set("minStay", rule.filter.minStayDays.map(String.init))
        form.set("maxStay", rule.filter.maxStayDays.map(String.init))
        form.set("templateId", rule.templateId)
        form.set("ruleAction", (rule.action ?? .call).rawValue)
        form.set("smsTemplateId", rule.smsTemplateId)
        form.set("active", rule.active ? "1" : nil)
        for (key, values) in [("departments", rule.filter.departments), ("wards", rule.filter.wards), ("dischargeStatuses", rule.filter.dischargeStatuses?.map(\.rawValue))] {
            for value in values ?? [] { form.append(key, value) }
        }
        return form
    }

    /// When a rule's tasks fall due, in words.
    static func schedule(_ rule: FollowUpRule, s: Strings) -> String {
        switch rule.kind {
        case .fixedOffset: return s["ruleDaysAfter"] + " " + (rule.offsets ?? []).sorted().map(String.init).joined(separator: ", ")
        case .periodic:
            let every = rule.intervalMonths.map { "\($0) \(s["months"])" } ?? "\(rule.intervalDays ?? 1) \(s["days"])"
            return "\(s["ruleEvery"]) \(every) × \(rule.repeatCount ?? 1)"
        }
    }

    static func rulesPage(
        _ crm: CRM, _ session: WebSession, rules: [FollowUpRule], form: FormFields?, preview: RulePreview?, error: String?, flash: String?
    ) async throws -> Response {
        let s = session.strings
        let (departments, wards, templates, smsTemplates) = await (
            try crm.organisation.references(.department), try crm.organisation.references(.ward), try crm.surveys.templates(), try crm.sms.templates()
        )
        let since = crm.time.day(crm.today(), plus: -30) ?? crm.today()
        var html = errorBanner(error)
        html +=
            "<table id=\"rules\"><thead><tr><th>\(s["label"])</th><th>\(s["trigger"])</th><th>\(s["ruleSchedule"])</th><th>\(s["ruleAction"])</th><th>\(s["status"])</th><th></th></tr></thead><tbody>"
        html += rules.markup { rule in
            let id = HTML.urlComponent(rule.id ?? "")
            let does: String =
                rule.sendsSMS
                ? "\(s["ruleSMS"]): \(smsTemplates.first { $0.id == rule.smsTemplateId }?.name ?? rule.smsTemplateId ?? "")"
                : "\(s["ruleCall"])\(rule.templateId.map { id in ": " + (templates.first { $0.id == id }?.name ?? id) } ?? "")"
            return """
                <tr id="rule-\(e(rule.id))"><td><a href="/rules?edit=\(id)#rule-editor">\(e(rule.name))</a></td><td>\(s[rule.triggerEvent.rawValue])</td>
                <td>\(schedule(rule, s: s))</td><td>\(does)</td><td>\(rule.active ? s["ruleActive"] : s["ruleInactive"])</td>
                <td><form method="post" action="/rules/\(id)/apply" class="inline apply"><label class="visually-hidden" for="since-\(e(rule.id))">\(s["ruleApplySince"])</label>
                <input type="date" id="since-\(e(rule.id))" name="since" value="\(since)" required> <button type="submit" class="secondary">\(s["ruleApply"])</button></form></td></tr>
                """
        }
        html += "</tbody></table><p class=\"muted\">\(s["ruleApplyHint"])</p>"
        if let preview {
            html += "<p class=\"flash\" id=\"rule-preview\">\(s["matches"]): \(preview.encounters) · \(s["patients"]) \(preview.patients) · \(s["tasks"]) \(preview.tasks)</p>"
        }
        func options(_ items: [ReferenceItem], _ field: String) -> Markup {
            let chosen = Set(form?.all(field) ?? [])
            return items.markup { "<option value=\"\(e($0.id))\"\(chosen.contains($0.id) ? " selected" : "")>\(e($0.name))</option>" }
        }
        func selected(_ field: String, _ value: String) -> Markup { form?[field] == value ? " selected" : "" }
        let editing = form?["id"] != nil
        // Most rules follow discharges: a new rule starts there.
        let trigger = form?["trigger"].flatMap(TriggerEvent.init(rawValue:)) ?? .discharge
        let chosenStatuses = Set(form?.all("dischargeStatuses") ?? [])
        html += """
            <form method="post" action="/rules" class="card" id="rule-editor"><h2>\(editing ? s["ruleEdit"] : s["ruleNew"])</h2>
            \(form?["id"].map { id -> Markup in "<input type=\"hidden\" name=\"id\" value=\"\(e(id))\">" })
            <label for="r-name">\(s["label"])</label><input type="text" id="r-name" name="name" value="\(e(form?["name"]))" required maxlength="100">
            <div class="grid"><div><label for="r-kind">\(s["kind"])</label><select id="r-kind" name="kind">\(FollowUpRule.Kind.allCases.markup { "<option value=\"\($0.rawValue)\"\(selected("kind", $0.rawValue))>\(s["ruleKind_" + $0.rawValue])</option>" })</select></div>
            <div><label for="r-trigger">\(s["trigger"])</label><select id="r-trigger" name="trigger">\(TriggerEvent.allCases.markup { "<option value=\"\($0.rawValue)\"\($0 == trigger ? " selected" : "")>\(s[$0.rawValue])</option>" })</select></div></div>
            <label for="r-offsets">\(s["offsets"])</label><input type="text" id="r-offsets" name="offsets" value="\(e(form?["offsets"] ?? (form == nil ? "1,3,7,30" : nil)))">
            <div class="grid"><div><label for="r-interval">\(s["interval"])</label><input type="text" inputmode="numeric" id="r-interval" name="interval" value="\(e(form?["interval"]))"></div>
            <div><label for="r-unit">\(s["ruleUnit"])</label><select id="r-unit" name="intervalUnit"><option value="days">\(s["days"])</option><option value="months"\(selected("intervalUnit", "months"))>\(s["months"])</option></select></div>
            <div><label for="r-repeat">\(s["repeat"])</label><input type="text" inputmode="numeric" id="r-repeat" name="repeat" value="\(e(form?["repeat"]))"></div></div>
            <div class="grid"><div><label for="r-departments">\(s["departments"])</label><select id="r-departments" name="departments" multiple size="5">\(options(departments, "departments"))</select></div>
            <div><label for="r-wards">\(s["wards"])</label><select id="r-wards" name="wards" multiple size="5">\(options(wards, "wards"))</select></div></div>
            <label for="r-diseases">\(s["diseases"])</label><input type="text" id="r-diseases" name="diseases" value="\(e(form?["diseases"]))">
            <div class="grid"><div><label for="r-min">\(s["minStay"])</label><input type="text" inputmode="numeric" id="r-min" name="minStay" value="\(e(form?["minStay"]))"></div>
            <div><label for="r-max">\(s["maxStay"])</label><input type="text" inputmode="numeric" id="r-max" name="maxStay" value="\(e(form?["maxStay"]))"></div></div>
            <label for="r-status">\(s["dischargeStatuses"])</label><select id="r-status" name="dischargeStatuses" multiple size="5">\(DischargeStatus.allCases.markup { "<option value=\"\($0.rawValue)\"\(chosenStatuses.contains($0.rawValue) ? " selected" : "")>\(s["ds_" + $0.rawValue])</option>" })</select>
            <div class="grid"><div><label for="r-action">\(s["ruleAction"])</label><select id="r-action" name="ruleAction"><option value="call">\(s["ruleCall"])</option><option value="sms"\(selected("ruleAction", "sms"))>\(s["ruleSMS"])</option></select></div>
            <div><label for="r-template">\(s["ruleSurvey"])</label><select id="r-template" name="templateId"><option value="">—</option>\(templates.markup { "<option value=\"\(e($0.id))\"\(selected("templateId", $0.id))>\(e($0.name))</option>" })</select></div>
            <div><label for="r-sms">\(s["smsTemplates"])</label><select id="r-sms" name="smsTemplateId"><option value="">—</option>\(smsTemplates.markup { "<option value=\"\(e($0.id))\"\(selected("smsTemplateId", $0.id))>\(e($0.name))</option>" })</select></div></div>
            \(editing ? "<label><input type=\"checkbox\" name=\"active\" value=\"1\"\(form?["active"] == "1" ? " checked" : "")> \(s["ruleActive"])</label>" as Markup : .empty)
            <p><button type="submit" name="action" value="preview" class="secondary" id="preview">\(s["preview"])</button> <button type="submit" name="action" value="save" id="save-rule">\(s["save"])</button>
            \(editing ? " <a href=\"/rules\">\(s["ruleNew"])</a>" as Markup : .empty)</p></form>
            """
        return session.page(s["rules"], html, flash: flash)
    }
}
