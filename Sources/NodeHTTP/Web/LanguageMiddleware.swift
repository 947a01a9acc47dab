import Hummingbird
import NodeRuntime

/// `?lang=zh|en` switches the UI language and remembers it in a cookie.
package struct LanguageMiddleware: RouterMiddleware {
    package typealias Context = APIRequestContext

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if let asked = request.query("lang"), let language = Language(rawValue: asked) {
            response.setCookie(Cookie(name: Language.cookieName, value: language.rawValue, maxAge: 365 * 86_400, path: "/", secure: true, httpOnly: true, sameSite: .strict))
        }
        return response
    }
}
