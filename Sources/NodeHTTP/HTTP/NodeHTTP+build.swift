import CRMDomain
import Hummingbird
import HummingbirdTLS
import Logging
import NodeRuntime

/// The node's HTTP server: health and the link indicator (public), status (managers and
/// administrators), the CRM API under `/api` (a session needed),
/// and the web UI everywhere else.
/// - Parameter transport: HTTPS with the node's certificate, or plain HTTP (loopback or `--insecure-http`).
/// - Throws: ``NodeSetupError`` when the certificate cannot be used.
package func buildHTTPApplication(
    runtime: NodeRuntime, configuration: NodeConfiguration, endpoint: Endpoint, transport: HTTPTransport,
    logger: Logger
) throws -> some ApplicationProtocol {
    let address = ApplicationConfiguration(address: .hostname(endpoint.host, port: endpoint.port), serverName: "suifang")
    switch transport {
    case .tls(let certificate):
        return Application(
            router: buildRouter(runtime: runtime, configuration: configuration, strictTransportSecurity: true),
            server: try .tls(.http1(), tlsConfiguration: HTTPTransport.serverConfiguration(certificate)),
            configuration: address, logger: logger)
    case .plain:
        return Application(router: buildRouter(runtime: runtime, configuration: configuration), configuration: address, logger: logger)
    }
}

/// The routes, separate from the server so tests can drive them (`app.test(.router)`).
/// - Parameters:
///   - strictTransportSecurity: answers carry HSTS (the node serves HTTPS).
///   - answeringUndeclaredMethods: a served path asked with another method answers 405 (off only to
///     list the declared routes).
package func buildRouter(
    runtime: NodeRuntime, configuration: NodeConfiguration, screenPops: ScreenPopHub = ScreenPopHub(), strictTransportSecurity: Bool = false,
    answeringUndeclaredMethods: Bool = true
) -> Router<APIRequestContext> {
    let router = Router(context: APIRequestContext.self, options: .autoGenerateHeadEndpoints)
    // First: every request is counted by route template and status, whatever answers it (no-op
    // unless `serve` bootstrapped the metrics).
    router.add(middleware: MetricsMiddleware())
    if strictTransportSecurity { router.add(middleware: StrictTransportSecurity()) }
    router.add(middleware: APIErrorMiddleware())
    router.add(middleware: CrossSiteGuard())
    router.add(middleware: LanguageMiddleware())
    router.add(middleware: AuthenticationMiddleware(crm: runtime.crm, machines: runtime.machines))
    router.get("/api/health") { _, _ in "ok" }
    router.get("/api/ready") { _, _ in await NodeReadiness.check(runtime).response }
    // Prometheus, with a machine credential of scope `metrics`; managers and administrators may look too.
    router.get("/metrics") { _, context in
        if context.machine == nil { try context.requireCaller().require(.manager, .admin) } else { _ = try context.requireMachine(.metrics) }
        let body = try await blocking { runtime.metrics.exposition(of: runtime) }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
    // Peers, addresses and row counts: for the hospital's IT staff, not for anyone on the ward Wi-Fi.
    router.get("/api/status") { _, context in
        try context.requireCaller().require(.manager, .admin)
        return try await runtime.statusReport(configuration)
    }
    router.get("/api/status/link") { _, _ in try await runtime.linkStatus(configuration) }
    let api = router.group("/api")
    let crm = runtime.crm
    AccountRoutes.add(to: api, crm: crm)
    PatientRoutes.add(to: api, crm: crm)
    FollowUpRoutes.add(to: api, crm: crm)
    SurveyRoutes.add(to: api, crm: crm)
    ServiceRoutes.add(to: api, crm: crm)
    SMSRoutes.add(to: api, crm: crm)
    StatisticsRoutes.add(to: api, crm: crm)
    HISRoutes.add(to: api, crm: crm)
    FHIRRoutes.add(to: router, crm: crm)
    WebUI(runtime: runtime, configuration: configuration, screenPops: screenPops).add(to: router)
    if answeringUndeclaredMethods { UndeclaredMethods.answer(on: router) }
    return router
}
