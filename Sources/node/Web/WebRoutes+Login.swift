import CRMDomain
import Foundation
import Hummingbird

extension WebUI {
    func addLogin(to router: Router<APIRequestContext>) {
        let crm = self.crm
        router.get("/") { request, context in
            guard let caller = context.caller else { return WebPage.redirect("/login") }
            return WebPage.redirect(Self.home(caller.role))
        }
        router.get("/login") { request, _ in Self.loginPage(request.language, failed: false) }
        router.post("/login") { request, context in
            let form = try await request.form(context: context)
            let (username, password) = (form["username"] ?? "", form["password"] ?? "")
            guard let session = try? await blocking({ try crm.login(username: username, password: password) }) else {
                return Self.loginPage(request.language, failed: true)
            }
            var response = WebPage.redirect(Self.home(session.user.role))
            response.setCookie(Cookie(name: AuthenticationMiddleware.cookieName, value: session.token, maxAge: Int(CRM.sessionLifetime),
                                      path: "/", httpOnly: true, sameSite: .strict))
            return response
        }
        router.post("/logout") { _, context in
            if let token = context.token { try await blocking { try crm.logout(token: token) } }
            var response = WebPage.redirect("/login")
            response.setCookie(Cookie(name: AuthenticationMiddleware.cookieName, value: "", maxAge: 0, path: "/", httpOnly: true))
            return response
        }
    }

    static func loginPage(_ language: Language, failed: Bool) -> Response {
        let s = Strings(language: language)
        let other = language == .zh ? "en" : "zh"
        return WebPage.bare(s["login"], """
            <h1>\(s["app"]) · \(s["login"])</h1>
            \(failed ? "<p class=\"error\" role=\"alert\">\(s["loginFailed"])</p>" : "")
            <form method="post" action="/login" class="card">
              <label for="username">\(s["username"])</label><input type="text" id="username" name="username" autocomplete="username" required autofocus>
              <label for="password">\(s["password"])</label><input type="password" id="password" name="password" autocomplete="current-password" required>
              <p><button type="submit" id="login">\(s["login"])</button></p>
            </form>
            <p><a href="/login?lang=\(other)">\(s["language"])</a></p>
            """, language: language, status: failed ? .unauthorized : .ok)
    }
}
