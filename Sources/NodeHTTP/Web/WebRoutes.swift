import NodeRuntime
import CRMDomain
import Foundation
import Hummingbird
import NIOCore

/// The web UI: server-rendered pages for bedside visitors, agents, managers and admins, on the
/// same node and the same CRM calls as the JSON API.
package struct WebUI: Sendable {
    package let runtime: NodeRuntime
    package let configuration: NodeConfiguration
    package let screenPops: ScreenPopHub

    package var crm: CRM { runtime.crm }

    /// Registers every page.
    package func add(to router: Router<APIRequestContext>) {
        router.get("/assets/app.css") { _, _ in Self.asset(WebAssets.css, type: "text/css; charset=utf-8") }
        router.get("/assets/app.js") { _, _ in Self.asset(WebAssets.javascript, type: "text/javascript; charset=utf-8") }
        addLogin(to: router)
        addAccount(to: router)
        addWard(to: router)
        addDesk(to: router)
        addPatients(to: router)
        addOffice(to: router)
        addService(to: router)
        addManagement(to: router)
        addDashboard(to: router)
        addOrganisation(to: router)
    }

    package static func asset(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "max-age=300"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The session of a logged-in caller allowed here; a redirect to the login page otherwise.
    package func session(_ request: Request, _ context: APIRequestContext, _ roles: Role...) async throws -> WebSession {
        guard let caller = context.caller else { throw WebRedirect(location: "/login") }
        guard roles.isEmpty || roles.contains(caller.role) else { throw CRMError(.forbidden, Strings(language: request.language)["forbidden"]) }
        let runtime = self.runtime, configuration = self.configuration
        let node = try await blocking { try runtime.linkStatus(configuration) }
        return WebSession(caller: caller, strings: Strings(language: request.language), node: node, path: request.uri.path)
    }

    /// The page each role starts on.
    package static func home(_ role: Role) -> String {
        switch role {
        case .visitor: "/ward"
        case .agent: "/desk"
        case .manager: "/complaints"
        case .admin: "/fleet"
        }
    }

    package init(runtime: NodeRuntime, configuration: NodeConfiguration, screenPops: ScreenPopHub) {
        self.runtime = runtime
        self.configuration = configuration
        self.screenPops = screenPops
    }
}

/// Thrown by a page to send the browser elsewhere (the login page).
package struct WebRedirect: Error {
    package var location: String

    package init(location: String) {
        self.location = location
    }
}

/// Errors on pages become pages: the login form when not logged in, otherwise a short page with the
/// message (which never carries patient data) and a way back.
package enum WebErrorPage {
    package static func response(for error: any Error, request: Request) -> Response {
        if let redirect = error as? WebRedirect { return WebPage.redirect(redirect.location) }
        let strings = Strings(language: request.language)
        let translated = APIErrorMiddleware.translate(error)
        if translated.status == .unauthorized { return WebPage.redirect("/login") }
        let message = translated.status.code >= 500 ? strings["error"] : translated.message
        return WebPage.bare(strings["error"], """
            <h1>\(strings["error"])</h1><p class="error" role="alert">\(e(message))</p>
            <p><a class="button" href="javascript:history.back()">\(strings["back"])</a></p>
            """, language: request.language, status: translated.status)
    }
}
