import CRMDomain
import Foundation
import Hummingbird
import NIOCore
import NodeRuntime

/// What every page needs: who is looking, in which language, and the node's link state.
package struct WebSession: Sendable {
    package var caller: Caller
    package var strings: Strings
    package var node: NodeLinkStatus
    package var path: String
    /// The token every form of this session's pages carries (``CSRFToken``).
    package var csrfToken: String = ""

    /// The link indicator: central itself, or linked to central / not, and how much waits to sync.
    package var linkIndicator: Markup {
        let s = strings
        if node.role == "central" { return "<span class=\"link up\" id=\"link\">\(s["thisIsCentral"])</span>" }
        let central = node.peers.first
        let up = central?.connected ?? false
        let pending = node.peers.map(\.pendingOut).max() ?? 0
        return """
            <span class="link \(up ? "up" : "down")" id="link" role="status" aria-live="polite" data-up="\(s["linkUp"])" data-down="\(s["linkDown"])">\(up ? s["linkUp"] : s["linkDown"])</span>
            <span class="pending" id="pending" data-count="\(pending)">\(s["pending"]): <b>\(pending)</b></span>
            """
    }

    /// The pages of the caller's role, in the navigation bar.
    package var navigation: [(path: String, label: String)] {
        let s = strings
        switch caller.role {
        case .visitor: return [("/ward", s["ward"]), ("/encounters", s["encounters"])]
        case .agent:
            return [
                ("/desk", s["desk"]), ("/tasks", s["taskPlanning"]), ("/patients", s["patients"]), ("/consultations", s["consultations"]), ("/appointments", s["appointments"]),
                ("/complaints", s["office"]), ("/sms/outbox", s["sms"]),
            ]
        case .manager:
            return [
                ("/complaints", s["office"]), ("/patients", s["patients"]), ("/encounters", s["encounters"]), ("/consultations", s["consultations"]),
                ("/appointments", s["appointments"]), ("/conflicts", s["conflicts"]), ("/sms", s["smsComposer"]),
                ("/templates", s["templates"]), ("/rules", s["rules"]), ("/tasks", s["taskPlanning"]), ("/dashboard", s["dashboard"]), ("/fleet", s["fleet"]),
                ("/organisation", s["organisation"]), ("/audit", s["audit"]),
            ]
        case .admin:
            return [
                ("/fleet", s["fleet"]), ("/users", s["users"]), ("/tokens", s["machines"]), ("/his", s["his"]), ("/organisation", s["organisation"]),
                ("/patients", s["patients"]),
                ("/dashboard", s["dashboard"]), ("/audit", s["audit"]),
            ]
        }
    }

    /// A whole page around `body`.
    package func page(_ title: String, _ body: Markup, flash: String? = nil) -> Response {
        let s = strings
        let nav = navigation.map { item -> Markup in
            "<a href=\"\(item.path)\"\(path.hasPrefix(item.path) ? Markup(" aria-current=\"page\"") : .empty)>\(item.label)</a>"
        }.joined()
        let other = s.language == .zh ? "en" : "zh"
        let html: Markup = """
            <!doctype html>
            <html lang="\(s.language.htmlCode)">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(e(title)) · \(s["app"])</title><link rel="stylesheet" href="/assets/app.css"></head>
            <body data-role="\(caller.role.rawValue)">
            <a class="skip" href="#main">\(s["skip"])</a>
            <header><span class="brand">\(s["app"]) · \(e(node.name))</span><nav aria-label="main">\(nav)</nav>
            <span class="status">\(linkIndicator)</span>
            <a class="user" href="/account" title="\(strings["changePassword"])">\(e(caller.userId))</a>
            <a class="lang" href="?lang=\(other)">\(s["language"])</a>
            <form method="post" action="/logout" class="inline"><button type="submit">\(s["logout"])</button></form></header>
            <main id="main" tabindex="-1"><h1>\(e(title))</h1>
            \(flash.map { text -> Markup in "<p class=\"flash\" role=\"status\">\(text)</p>" })
            \(body)</main>
            <script src="/assets/app.js"></script>
            </body></html>
            """
        return WebPage.html(withFormTokens(html))
    }

    /// The page with this session's token in every form it posts (the pages' forms all open with
    /// `<form method="post"`; text from users is escaped, so it cannot open one).
    private func withFormTokens(_ html: Markup) -> Markup {
        Markup(
            trusted: html.html.replacingOccurrences(
                of: "(<form method=\"post\"[^>]*>)", with: "$1<input type=\"hidden\" name=\"\(CSRFToken.field)\" value=\"\(csrfToken)\">",
                options: .regularExpression))
    }

    package init(caller: Caller, strings: Strings, node: NodeLinkStatus, path: String, csrfToken: String = "") {
        self.caller = caller
        self.strings = strings
        self.node = node
        self.path = path
        self.csrfToken = csrfToken
    }
}

package enum WebPage {
    /// An HTML response.
    package static func html(_ markup: Markup, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: markup.html)))
    }

    /// A 303 to `location` (after a form post, or to the login page).
    package static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// A page for someone not logged in (the login form, an error).
    package static func bare(_ title: String, _ body: Markup, language: Language, status: HTTPResponse.Status = .ok) -> Response {
        html(
            """
            <!doctype html><html lang="\(language.htmlCode)"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1"><title>\(e(title))</title>
            <link rel="stylesheet" href="/assets/app.css"></head><body class="bare"><main id="main">\(body)</main></body></html>
            """, status: status)
    }
}

/// A form post's fields (`application/x-www-form-urlencoded`).
package struct FormFields: Sendable {
    private var values: [String: [String]] = [:]

    package init(_ body: String) {
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            guard let key = parts.first, !key.isEmpty else { continue }
            values[key, default: []].append(parts.count > 1 ? parts[1] : "")
        }
    }

    package subscript(_ key: String) -> String? { values[key]?.first.flatMap { $0.isEmpty ? nil : $0 } }
    /// Replaces a field's values (nil removes it).
    package mutating func set(_ key: String, _ value: String?) { values[key] = value.map { [$0] } }
    /// Adds a value to a field that repeats (a multiple select).
    package mutating func append(_ key: String, _ value: String) { values[key, default: []].append(value) }
    package func all(_ key: String) -> [String] { values[key] ?? [] }
    package var keys: [String] { Array(values.keys) }
}

extension Request {
    /// The posted form (at most 1 MiB).
    package func form(context: APIRequestContext) async throws -> FormFields {
        let buffer = try await body.collect(upTo: context.maxUploadSize)
        return FormFields(String(buffer: buffer))
    }

    /// The UI language: `?lang=`, else the cookie, else Chinese.
    package var language: Language {
        Language.of(query("lang"), cookie: cookies[Language.cookieName]?.value)
    }
}
