import Hummingbird
import Logging

/// The node's HTTP API. For now: `GET /api/health` and `GET /api/status`; the CRM API and the
/// web UI build on this application.
func buildHTTPApplication(runtime: NodeRuntime, configuration: NodeConfiguration, endpoint: Endpoint,
                          logger: Logger) -> some ApplicationProtocol {
    Application(router: buildRouter(runtime: runtime, configuration: configuration),
                configuration: .init(address: .hostname(endpoint.host, port: endpoint.port), serverName: "suifang"),
                logger: logger)
}

/// The routes, separate from the server so tests can drive them (`app.test(.router)`).
func buildRouter(runtime: NodeRuntime, configuration: NodeConfiguration) -> Router<BasicRequestContext> {
    let router = Router()
    router.get("/api/health") { _, _ in "ok" }
    router.get("/api/status") { _, _ in try runtime.statusReport(configuration) }
    return router
}
