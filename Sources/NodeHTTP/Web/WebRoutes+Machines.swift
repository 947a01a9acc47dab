import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime

/// Machine credentials (admins): which machines may call this node's API, with what scope, when
/// they last did; make one (its token shown once) or revoke one.
extension WebUI {
    package func addMachines(to router: Router<APIRequestContext>) {
        let machines = runtime.machines
        pages(router, .admin).get("/tokens") { request, context in
            let session = try context.session()
            return session.page(session.strings["machines"], Self.machinesPage(try machines.list(), created: nil, s: session.strings))
        }
        pages(router, .admin).post("/tokens") { request, context in
            let session = try context.session()
            let form = try await request.form(context: context)
            let scopes = form.all("scope").compactMap(MachineScope.init(rawValue:))
            let token: String
            do {
                token = try machines.create(name: form["name"] ?? "", scopes: scopes)
            } catch let error as NodeSetupError {
                throw CRMError(.invalid, error.message)
            }
            return session.page(session.strings["machines"], Self.machinesPage(try machines.list(), created: token, s: session.strings))
        }
        pages(router, .admin).post("/tokens/:name/revoke") { request, context in
            _ = try context.session()
            do {
                try machines.revoke(name: try context.parameters.id("name"))
            } catch let error as NodeSetupError {
                throw CRMError(.notFound, error.message)
            }
            return WebPage.redirect("/tokens")
        }
    }

    package static func machinesPage(_ credentials: [MachineCredential], created token: String?, s: Strings) -> Markup {
        var html: Markup = .empty
        if let token {
            html += "<div class=\"card\" id=\"new-token\"><p>\(s["tokenShownOnce"])</p><pre><code>\(token)</code></pre></div>"
        }
        html += """
            <table id="machines"><thead><tr><th>\(s["machineName"])</th><th>\(s["machineScopes"])</th><th>\(s["machineCreated"])</th>
            <th>\(s["machineLastUsed"])</th><th>\(s["status"])</th><th></th></tr></thead><tbody>
            """
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        html += credentials.markup { credential in
            let revoke: Markup =
                credential.revokedAt == nil
                ? "<form method=\"post\" action=\"/tokens/\(HTML.urlComponent(credential.name))/revoke\" data-confirm=\"\(s["revokeConfirm"])\"><button type=\"submit\" class=\"danger\">\(s["revoke"])</button></form>"
                : .empty
            return """
                <tr><td>\(credential.name)</td><td>\(credential.scopes.map(\.rawValue).joined(separator: ", "))</td>
                <td>\(Self.ago(now - credential.createdAt, s))</td><td>\(credential.lastUsedAt.map { Self.ago(now - $0, s) } ?? s["machineNever"])</td>
                <td>\(credential.revokedAt == nil ? s["machineActive"] : s["machineRevoked"])</td><td>\(revoke)</td></tr>
                """
        }
        html += "</tbody></table>"
        html += """
            <form method="post" action="/tokens" class="card"><h2>\(s["machineCreate"])</h2>
            <label for="name">\(s["machineName"])</label><input type="text" id="name" name="name" required maxlength="40" pattern="[A-Za-z0-9_-]+">
            <fieldset><legend>\(s["machineScopes"])</legend>
            \(MachineScope.allCases.markup { "<label><input type=\"checkbox\" name=\"scope\" value=\"\($0.rawValue)\"> \($0.rawValue)</label>" })</fieldset>
            <p><button type="submit">\(s["machineCreate"])</button></p></form>
            """
        return html
    }
}
