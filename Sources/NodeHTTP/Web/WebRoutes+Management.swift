import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime

/// The central office's editors: conflict inbox, survey templates, users and roles. The SMS
/// pages are WebRoutes+SMS, the follow-up rules WebRoutes+Rules.
extension WebUI {
    package func addManagement(to router: Router<APIRequestContext>) {
        let crm = self.crm
        pages(router, .manager, .admin).get("/conflicts") { request, context in
            let session = try context.session()
            let conflicts = try await crm.patients.conflictInbox(session.caller)
            var names: [String: String] = [:]
            for conflict in conflicts where names[conflict.rowId] == nil {
                names[conflict.rowId] = try? await crm.patients.patient(conflict.rowId).name
            }
            let s = session.strings
            let html =
                conflicts.isEmpty
                ? "<p class=\"muted\">\(s["noRows"])</p>"
                : "<p class=\"muted\">\(s["conflictHint"])</p>"
                    + conflicts.markup { conflict in
                        "<div class=\"card conflict\" data-row=\"\(e(conflict.rowId))\" data-column=\"\(e(conflict.column))\"><p><a href=\"/patients/\(HTML.urlComponent(conflict.rowId))\">\(e(names[conflict.rowId] ?? conflict.rowId))</a> <span class=\"muted\">\(e(conflict.rowId))</span> · \(e(s[conflict.column]))</p>"
                            + conflict.values.map { value in
                                """
                                <form method="post" action="/conflicts/resolve" class="inline"><input type="hidden" name="rowId" value="\(e(conflict.rowId))">
                                <input type="hidden" name="column" value="\(e(conflict.column))"><input type="hidden" name="value" value="\(e(value))">
                                <button type="submit" class="secondary">\(s["choose"]): \(e(value))</button></form>
                                """
                            }.joined() + "</div>"
                    }
            return session.page(s["conflicts"], html)
        }
        pages(router, .manager, .admin).post("/conflicts/resolve") { request, context in
            let session = try context.session()
            let form = try await request.form(context: context)
            try await crm.patients.resolveConflict(session.caller, table: "patient", rowId: form["rowId"] ?? "", column: form["column"] ?? "", value: form["value"] ?? "")
            return WebPage.redirect("/conflicts")
        }
        pages(router, .manager, .admin).get("/templates") { request, context in
            let session = try context.session()
            let templates = try await crm.surveys.templates()
            let s = session.strings
            var html: Markup =
                "<table><thead><tr><th>\(s["template"])</th><th>\(s["purpose"])</th><th>\(s["diseaseCode"])</th><th>\(s["version"])</th></tr></thead><tbody>"
            html += templates.markup {
                "<tr><td><a href=\"/templates/\(HTML.urlComponent($0.id))\">\(e($0.name))</a></td><td>\(e($0.purpose))</td><td>\(e($0.diseaseCode))</td><td>\($0.currentVersion)</td></tr>"
            }
            html += "</tbody></table>" + Self.templateEditor(nil, s: s, error: nil)
            return session.page(s["templates"], html)
        }
        pages(router, .manager, .admin).get("/templates/:id") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let template = try await crm.surveys.template(id)
            return session.page(template.name, Self.templateEditor(template, s: session.strings, error: nil))
        }
        pages(router, .manager, .admin).post("/templates") { request, context in
            let session = try context.session()
            let form = try await request.form(context: context)
            let id = form["id"] ?? ""
            let definition = TemplateEditor.definition(from: form)
            func editor(_ blankRows: Int, _ error: String?) -> Response {
                session.page(
                    session.strings["templates"],
                    TemplateEditor.render(
                        id: id, name: form["name"], purpose: form["purpose"], diseaseCode: form["diseaseCode"], version: nil,
                        definition: definition, blankRows: blankRows, s: session.strings, error: error))
            }
            if form["action"] == "add" { return editor(1, nil) }
            do {
                _ = try await crm.surveys.saveTemplate(
                    session.caller, id: id, name: form["name"] ?? "", purpose: form["purpose"], diseaseCode: form["diseaseCode"], definition: definition)
            } catch let error as CRMError where error.refusesInput {
                return editor(0, session.strings.refusal(error.message))
            }
            return WebPage.redirect("/templates/\(HTML.urlComponent(id))")
        }
        pages(router, .admin).get("/users") { request, context in
            let session = try context.session()
            let (users, wards) = await (try crm.accounts.users(session.caller), try crm.organisation.references(.ward))
            return session.page(session.strings["users"], Self.usersPage(users, wards: wards, s: session.strings))
        }
        pages(router, .admin).post("/users") { request, context in
            let session = try context.session()
            let form = try await request.form(context: context)
            guard let role = form["role"].flatMap(Role.init(rawValue:)) else { throw CRMError(.invalid, "choose a role") }
            try await crm.accounts.saveUser(
                session.caller, username: form["username"] ?? "", displayName: form["displayName"] ?? "", role: role,
                password: form["password"], wardId: form["wardId"], disabled: form["disabled"] == "1")
            return WebPage.redirect("/users")
        }
    }

    package static func list(_ text: String?) -> [String]? {
        let items = (text ?? "").split(whereSeparator: { $0 == "," || $0 == "，" || $0 == " " }).map(String.init)
        return items.isEmpty ? nil : items
    }

    package static func templateEditor(_ template: SurveyTemplate?, s: Strings, error: String?) -> Markup {
        TemplateEditor.render(
            id: template?.id, name: template?.name, purpose: template?.purpose, diseaseCode: template?.diseaseCode, version: template?.currentVersion,
            definition: template?.definition ?? SurveyDefinition(questions: []), blankRows: template == nil ? 2 : 0, s: s, error: error)
    }

    package static func usersPage(_ users: [UserAccount], wards: [ReferenceItem], s: Strings) -> Markup {
        var html: Markup =
            "<table id=\"users\"><thead><tr><th>\(s["username"])</th><th>\(s["displayName"])</th><th>\(s["role"])</th><th>\(s["ward"])</th><th></th></tr></thead><tbody>"
        html += users.markup {
            "<tr><td>\(e($0.id))</td><td>\(e($0.displayName))</td><td>\(s[$0.role.rawValue])</td><td>\(e($0.wardId))</td><td>\($0.disabled ? s["disabled"] : "")\($0.lockedUntil.map { " " + s["lockedUntil"] + " " + $0 } ?? "")</td></tr>"
        }
        html += """
            </tbody></table>
            <form method="post" action="/users" class="card"><h2>\(s["users"])</h2>
            <label for="u-name">\(s["username"])</label><input type="text" id="u-name" name="username" required pattern="[a-z0-9._-]{2,32}">
            <label for="u-display">\(s["displayName"])</label><input type="text" id="u-display" name="displayName" required>
            <label for="u-role">\(s["role"])</label><select id="u-role" name="role">\(Role.allCases.markup { "<option value=\"\($0.rawValue)\">\(s[$0.rawValue])</option>" })</select>
            <label for="u-ward">\(s["ward"])</label><select id="u-ward" name="wardId"><option value="">—</option>\(wards.markup { "<option value=\"\(e($0.id))\">\(e($0.name))</option>" })</select>
            <label for="u-password">\(s["password"])</label><input type="password" id="u-password" name="password" autocomplete="new-password" minlength="8">
            <label><input type="checkbox" name="disabled" value="1"> \(s["disabled"])</label>
            <p><button type="submit">\(s["save"])</button></p></form>
            """
        return html
    }
}

extension Array {
    package var nilIfEmpty: [Element]? { isEmpty ? nil : self }
}
