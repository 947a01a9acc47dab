import CRMDomain
import Foundation
import HTTPTypes
import Hummingbird
import NodeRuntime

extension WebUI {
    package func addLogin(to router: Router<APIRequestContext>) {
        let crm = self.crm
        router.get("/") { request, context in
            guard let caller = context.caller else { return WebPage.redirect("/login") }
            return WebPage.redirect(Self.home(caller.role))
        }
        router.get("/login") { request, _ in Self.loginPage(request.language, failed: false) }
        router.post("/login") { request, context in
            let form = try await request.form(context: context)
            let (username, password) = (form["username"] ?? "", form["password"] ?? "")
            let session: Session
            do {
                session = try await crm.accounts.login(username: username, password: password, address: context.remoteAddress)
            } catch let error as CRMError where error.kind == .throttled {
                return Self.loginPage(request.language, failed: true, throttled: true)
            } catch {
                return Self.loginPage(request.language, failed: true)
            }
            var response = WebPage.redirect(Self.home(session.user.role))
            response.setCookie(
                Cookie(
                    name: AuthenticationMiddleware.cookieName, value: session.token, maxAge: Int(CRM.Accounts.sessionLifetime),
                    path: "/", secure: true, httpOnly: true, sameSite: .strict))
            return response
        }
        router.post("/logout") { _, context in
            if let token = context.token { try await crm.accounts.logout(token: token) }
            var response = WebPage.redirect("/login")
            // The HTTP cache goes with the session; the service worker empties its own cache when it
            // sees this request (answers waiting to be sent stay).
            response.headers[HTTPField.Name("Clear-Site-Data")!] = "\"cache\""
            response.setCookie(Cookie(name: AuthenticationMiddleware.cookieName, value: "", maxAge: 0, path: "/", secure: true, httpOnly: true, sameSite: .strict))
            return response
        }
    }

    /// Every user's own account page: change the password.
    package func addAccount(to router: Router<APIRequestContext>) {
        let crm = self.crm
        pages(router).get("/account") { request, context in
            let session = try context.session()
            return session.page(session.strings["changePassword"], Self.passwordForm(session.strings, message: nil, failed: false))
        }
        pages(router).post("/account/password") { request, context in
            let session = try context.session()
            let form = try await request.form(context: context)
            let s = session.strings
            guard form["new"] == form["repeat"] else {
                return session.page(s["changePassword"], Self.passwordForm(s, message: s["passwordsDiffer"], failed: true))
            }
            do {
                try await crm.accounts.changePassword(session.caller, old: form["old"] ?? "", new: form["new"] ?? "", keepingSession: context.token)
            } catch let error as CRMError where error.kind == .forbidden || error.refusesInput {
                let message = error.kind == .forbidden ? s["oldPasswordWrong"] : s["passwordLength"]
                return session.page(s["changePassword"], Self.passwordForm(s, message: message, failed: true))
            }
            return session.page(s["changePassword"], Self.passwordForm(s, message: s["passwordChanged"], failed: false))
        }
    }

    package static func passwordForm(_ s: Strings, message: String?, failed: Bool) -> Markup {
        let notice = message.map { text -> Markup in failed ? "<p class=\"error\" role=\"alert\">\(text)</p>" : "<p class=\"flash\" role=\"status\">\(text)</p>" } ?? .empty
        return notice + """
            <form method="post" action="/account/password" class="card" id="password-form">
              <label for="old">\(s["oldPassword"])</label><input type="password" id="old" name="old" autocomplete="current-password" required>
              <label for="new">\(s["newPassword"])</label><input type="password" id="new" name="new" autocomplete="new-password" minlength="8" maxlength="128" required>
              <label for="repeat">\(s["repeatPassword"])</label><input type="password" id="repeat" name="repeat" autocomplete="new-password" minlength="8" maxlength="128" required>
              <p><button type="submit" id="change-password">\(s["save"])</button></p>
            </form>
            """
    }

    package static func loginPage(_ language: Language, failed: Bool, throttled: Bool = false) -> Response {
        let s = Strings(language: language)
        let other = language == .zh ? "en" : "zh"
        return WebPage.bare(
            s["login"],
            """
            <h1>\(s["app"]) · \(s["login"])</h1>
            \(failed ? "<p class=\"error\" role=\"alert\">\(s[throttled ? "loginThrottled" : "loginFailed"])</p>" as Markup : .empty)
            <form method="post" action="/login" class="card">
              <label for="username">\(s["username"])</label><input type="text" id="username" name="username" autocomplete="username" required autofocus>
              <label for="password">\(s["password"])</label><input type="password" id="password" name="password" autocomplete="current-password" required>
              <p><button type="submit" id="login">\(s["login"])</button></p>
            </form>
            <p><a href="/login?lang=\(other)">\(s["language"])</a></p>
            """, language: language, status: throttled ? .tooManyRequests : failed ? .unauthorized : .ok)
    }
}
