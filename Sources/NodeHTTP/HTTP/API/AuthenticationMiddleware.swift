import CRMDomain
import Foundation
import Hummingbird
import NIOPosix
import NodeRuntime

/// Reads the session from `Authorization: Bearer TOKEN` (API clients) or the `suifang_session`
/// cookie (the web UI) and puts the caller in the context; a machine credential (`Bearer sfm_…`)
/// goes to `context.machine` instead, never to `caller`. Routes decide whether they need one.
package struct AuthenticationMiddleware: RouterMiddleware {
    package typealias Context = APIRequestContext
    package let crm: CRM
    package let machines: MachineCredentialStore

    package static let cookieName = "suifang_session"

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let token = Self.token(in: request), token.hasPrefix(MachineCredentialStore.prefix) {
            let machines = self.machines
            context.machine = try? await blocking { machines.authenticate(token: token) }
        } else if let token = Self.token(in: request) {
            let crm = self.crm
            context.caller = try? await crm.accounts.authenticate(token: token)
            context.token = token
        }
        return try await next(request, context)
    }

    package static func token(in request: Request) -> String? {
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        if let cookie = request.cookies[cookieName]?.value, !cookie.isEmpty { return cookie }
        // Kannel calls back with plain URLs (`dlr-url`, `get-url`) and cannot add a header: on its
        // routes alone a machine credential may come as `?token=`; never a person's session.
        if request.uri.path.hasPrefix(machineQueryTokenPrefix), let token = request.uri.queryParameters["token"].map(String.init),
            token.hasPrefix(MachineCredentialStore.prefix)
        {
            return token
        }
        return nil
    }

    /// The routes that take a machine credential in the query.
    static let machineQueryTokenPrefix = "/api/sms/kannel/"

    package init(crm: CRM, machines: MachineCredentialStore) {
        self.crm = crm
        self.machines = machines
    }
}
