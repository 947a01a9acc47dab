import CRMDomain
import Hummingbird
import NodeRuntime

/// The request context of the node's HTTP API: who is calling, once ``AuthenticationMiddleware`` has looked.
package struct APIRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    /// The logged-in caller; nil on public routes.
    package var caller: Caller?
    /// The session token the caller presented.
    package var token: String?
    /// The machine credential presented instead of a session (`Bearer sfm_…`); it opens only its scopes' routes.
    package var machine: MachineCredential?
    /// On web pages: who is looking, in which language, and the node's links (``WebSessionMiddleware``).
    package var webSession: WebSession?

    /// The client's IP address (login throttling counts failures per address).
    package var remoteAddress: String?

    package init(source: Source) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    /// JSON bodies are small; CSV imports read their body themselves with a larger limit.
    package var maxUploadSize: Int { 1 << 20 }

    /// The page's session, which the page's ``WebSessionMiddleware`` put here.
    package func session() throws -> WebSession {
        guard let webSession else { throw WebRedirect(location: "/login") }
        return webSession
    }

    /// The machine calling with `scope`, or a 401/403.
    package func requireMachine(_ scope: MachineScope) throws -> MachineCredential {
        guard let machine else { throw CRMError(.unauthenticated, "a machine credential is needed") }
        guard machine.allows(scope) else { throw CRMError(.forbidden, "the credential '\(machine.name)' lacks the scope \(scope.rawValue)") }
        return machine
    }

    /// The caller, or a 401.
    package func requireCaller() throws -> Caller {
        guard let caller else { throw CRMError(.unauthenticated, "log in first") }
        return caller
    }
}
