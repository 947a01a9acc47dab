import CRMDomain
import Hummingbird
import Sodium

/// Refuses state-changing requests another site makes a browser send (CSRF), on every route:
/// - a `Sec-Fetch-Site` header other than `same-origin` or `none` (typed in, bookmarked);
/// - an `Origin` header whose host is not this request's `Host`.
/// Requests without those headers (scripts, the HIS, curl) pass: they carry no session cookie
/// the browser added on its own, and the API's bearer tokens are never sent implicitly.
/// Pages also check a per-session token in every form (``CSRFToken``, ``WebSessionMiddleware``).
package struct CrossSiteGuard: RouterMiddleware {
    package typealias Context = APIRequestContext

    package init() {}

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard ![.get, .head, .options].contains(request.method) else { return try await next(request, context) }
        if let site = request.headers.first(where: { $0.name.canonicalName == "sec-fetch-site" })?.value, !["same-origin", "none"].contains(site) {
            throw CRMError(.forbidden, "a request from another site was refused")
        }
        if let origin = request.headers[.origin] {
            let host = origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first.map(String.init)
            guard let host, let own = request.head.authority, host == own else {
                throw CRMError(.forbidden, "a request from another site was refused")
            }
        }
        return try await next(request, context)
    }
}

/// The per-session token every page form carries (`_csrf`): derived from the session's bearer
/// token, which only the browser holding the (httpOnly) cookie knows.
package enum CSRFToken {
    package static let field = "_csrf"

    package static func of(session token: String) -> String {
        String(Sodium.hexHash("suifang-csrf-v1:" + token).prefix(32))
    }

    /// Compares in constant time.
    package static func matches(_ sent: String?, _ expected: String) -> Bool {
        guard let sent, sent.utf8.count == expected.utf8.count else { return false }
        return zip(sent.utf8, expected.utf8).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
