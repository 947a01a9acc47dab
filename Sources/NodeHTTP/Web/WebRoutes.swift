import CRMDomain
import Foundation
import Hummingbird
import NIOCore
import NodeRuntime

/// The web UI: server-rendered pages for bedside visitors, agents, managers and admins, on the
/// same node and the same CRM calls as the JSON API.
package struct WebUI: Sendable {
    package let runtime: NodeRuntime
    package let configuration: NodeConfiguration
    package let screenPops: ScreenPopHub
    /// Answers per kiosk and minute (WebRoutes+Kiosk).
    let kioskThrottle = KioskThrottle()
    /// Files previewed cleanly, waiting to be imported (WebRoutes+Data).
    let importDrafts = ImportDrafts()

    package var crm: CRM { runtime.crm }

    /// Registers every page.
    package func add(to router: Router<APIRequestContext>) {
        router.get("/assets/app.css") { _, _ in Self.asset(WebAssets.css, type: "text/css; charset=utf-8") }
        router.get("/assets/app.js") { _, _ in Self.asset(WebAssets.javascript, type: "text/javascript; charset=utf-8") }
        // The bedside tablet's service worker (scope /ward): checked for updates on every load.
        router.get("/sw.js") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "no-cache"],
                body: .init(byteBuffer: ByteBuffer(string: WebAssets.serviceWorker)))
        }
        addLogin(to: router)
        addAccount(to: router)
        addWard(to: router)
        addEncounters(to: router)
        addConsultations(to: router)
        addAppointments(to: router)
        addDesk(to: router)
        addPatients(to: router)
        addOffice(to: router)
        addService(to: router)
        addManagement(to: router)
        addDashboard(to: router)
        addOrganisation(to: router)
        addAudit(to: router)
        addMachines(to: router)
        addHIS(to: router)
        addSMS(to: router)
        addRules(to: router)
        addTasks(to: router)
        addSurveyLinks(to: router)
        addSMSReplies(to: router)
        addData(to: router)
        addReports(to: router)
        addOpinions(to: router)
        addKiosk(to: router)
    }

    package static func asset(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "max-age=300"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// A group for pages that the given roles (any logged-in caller when none) may open: its
    /// middleware sends everyone else to the login page or answers 403, and gives the handlers
    /// their session (``APIRequestContext/session()``).
    package func pages(_ router: Router<APIRequestContext>, _ roles: Role...) -> RouterGroup<APIRequestContext> {
        router.group().add(middleware: WebSessionMiddleware(roles: roles, runtime: runtime, configuration: configuration))
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
        let message = translated.status.code >= 500 ? strings["error"] : strings.refusal(translated.message)
        var page = WebPage.bare(
            strings["error"],
            """
            <h1>\(strings["error"])</h1><p class="error" role="alert">\(e(message))</p>
            <p><a class="button" href="javascript:history.back()">\(strings["back"])</a></p>
            """, language: request.language, status: translated.status)
        page.headers.append(contentsOf: translated.headers)
        return page
    }
}

/// Lets a page's handler run only for a logged-in caller of the page's roles, with its session:
/// the caller, the language and the node's links (counted nothing: ``NodeRuntime/linkStatus(_:)``).
package struct WebSessionMiddleware: RouterMiddleware {
    package typealias Context = APIRequestContext
    let roles: [Role]
    let runtime: NodeRuntime
    let configuration: NodeConfiguration

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let caller = context.caller else { throw WebRedirect(location: "/login") }
        let strings = Strings(language: request.language)
        guard roles.isEmpty || roles.contains(caller.role) else { throw CRMError(.forbidden, strings["forbidden"]) }
        let runtime = self.runtime, configuration = self.configuration
        let node = try runtime.linkStatus(configuration)
        var context = context
        let csrf = CSRFToken.of(session: context.token ?? "")
        context.webSession = WebSession(caller: caller, strings: strings, node: node, path: request.uri.path, csrfToken: csrf)
        var request = request
        if request.method == .post {
            // Every page form carries the session's token; a form another site made a browser post does not.
            // The import page alone posts a whole file.
            let limit = request.uri.path == "/data/import" ? WebUI.largestImportForm : context.maxUploadSize
            let body = try await request.collectBody(upTo: limit)
            guard CSRFToken.matches(FormFields(String(buffer: body))[CSRFToken.field], csrf) else {
                throw CRMError(.forbidden, strings["formExpired"])
            }
        }
        return try await next(request, context)
    }
}
