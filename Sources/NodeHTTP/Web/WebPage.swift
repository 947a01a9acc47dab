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

    /// A navigation entry: the section's first page and label, and every page of the section,
    /// shown as tabs on each of them. Nine entries at most, so the bar fits a 10-inch tablet.
    package struct Section: Sendable {
        package var path: String
        package var label: String
        package var tabs: [(path: String, label: String)]

        init(_ path: String, _ label: String, tabs: [(path: String, label: String)] = []) {
            self.path = path
            self.label = label
            self.tabs = tabs
        }
    }

    /// The sections of the caller's role, in the navigation bar.
    package var navigation: [Section] {
        let s = strings
        let statistics = Section("/dashboard", s["statistics"], tabs: [("/dashboard", s["dashboard"]), ("/reports", s["reports"]), ("/opinions", s["opinionLists"])])
        let data = Section("/data", s["data"], tabs: [("/data", s["data"]), ("/conflicts", s["conflicts"])])
        let patients = Section("/patients", s["patients"], tabs: [("/patients", s["patients"]), ("/blacklist", s["blacklistPage"])])
        switch caller.role {
        case .visitor: return [Section("/ward", s["ward"]), Section("/encounters", s["encounters"])]
        case .agent:
            return [
                Section("/desk", s["desk"]), Section("/tasks", s["taskPlanning"]), patients,
                Section("/consultations", s["counter"], tabs: [("/consultations", s["consultations"]), ("/appointments", s["appointments"])]),
                Section("/complaints", s["office"]), Section("/sms/outbox", s["sms"], tabs: [("/sms/outbox", s["outbox"]), ("/sms/replies", s["smsReplies"])]),
            ]
        case .manager:
            return [
                Section("/complaints", s["office"]), patients, Section("/encounters", s["encounters"]),
                Section("/consultations", s["counter"], tabs: [("/consultations", s["consultations"]), ("/appointments", s["appointments"])]),
                Section("/tasks", s["followUp"], tabs: [("/tasks", s["taskPlanning"]), ("/rules", s["rules"]), ("/templates", s["templates"])]),
                Section(
                    "/sms", s["smsComposer"],
                    tabs: [("/sms", s["smsComposer"]), ("/sms/outbox", s["outbox"]), ("/sms/templates", s["smsTemplates"]), ("/sms/replies", s["smsReplies"])]),
                statistics, data,
                Section("/organisation", s["organisation"], tabs: [("/organisation", s["organisation"]), ("/fleet", s["fleet"]), ("/audit", s["audit"])]),
            ]
        case .admin:
            return [
                Section("/fleet", s["fleet"]), Section("/users", s["users"]), Section("/tokens", s["machines"]), Section("/his", s["his"]),
                Section("/organisation", s["organisation"], tabs: [("/organisation", s["organisation"]), ("/audit", s["audit"])]),
                Section("/patients", s["patients"]), statistics, data,
            ]
        }
    }

    /// Whether `page` is the page shown or the page it belongs to (`/sms/outbox` for `/sms/outbox?…`,
    /// `/patients` for `/patients/p1`).
    private func shows(_ page: String) -> Bool { path == page || path.hasPrefix(page + "/") }

    /// The section of the page shown: the one with the most specific matching page.
    private var currentSection: (section: Section, tab: String)? {
        var best: (section: Section, tab: String)?
        for section in navigation {
            for page in [section.path] + section.tabs.map(\.path) where shows(page) && page.count > (best?.tab.count ?? 0) {
                best = (section, page)
            }
        }
        return best
    }

    /// The tab bar of the page's section, when it has more than one page.
    private var sectionTabs: Markup {
        guard let (section, current) = currentSection, section.tabs.count > 1 else { return .empty }
        let links = section.tabs.markup { page, label in
            "<a href=\"\(page)\"\(page == current ? Markup(" aria-current=\"page\"") : .empty)>\(label)</a>"
        }
        return "<nav class=\"tabs no-print\" aria-label=\"\(section.label)\">\(links)</nav>"
    }

    /// A whole page around `body`.
    package func page(_ title: String, _ body: Markup, flash: String? = nil) -> Response {
        let s = strings
        let current = currentSection?.section.path
        let nav = navigation.markup { section in
            "<a href=\"\(section.path)\"\(section.path == current ? Markup(" aria-current=\"page\"") : .empty)>\(section.label)</a>"
        }
        let other = s.language == .zh ? "en" : "zh"
        let html: Markup = """
            <!doctype html>
            <html lang="\(s.language.htmlCode)">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(e(title)) · \(s["app"])</title><link rel="stylesheet" href="/assets/app.css"></head>
            <body data-role="\(caller.role.rawValue)">
            <a class="skip" href="#main">\(s["skip"])</a>
            <header><span class="brand">\(s["app"]) · \(e(node.name))</span><nav aria-label="main">\(nav)</nav>
            <span class="status">\(linkIndicator)\(caller.role == .visitor ? Markup(" <span class=\"pending\" id=\"tablet-queue\" hidden data-login=\"\(s["offlineLogin"])\" data-refused=\"\(s["offlineRefused"])\">\(s["tabletQueue"]): <b>0</b><span class=\"refused\"></span></span>") : .empty)</span>
            <a class="user" href="/account" title="\(strings["changePassword"])">\(e(caller.userId))</a>
            <a class="lang" href="?lang=\(other)">\(s["language"])</a>
            <form method="post" action="/logout" class="inline"><button type="submit">\(s["logout"])</button></form></header>
            <main id="main" tabindex="-1"><h1>\(e(title))</h1>
            \(sectionTabs)\(flash.map { text -> Markup in "<p class=\"flash\" role=\"status\">\(text)</p>" })
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

    /// A CSV download: UTF-8 with the byte-order mark Excel and WPS need, saved as `filename`.
    package static func csvDownload(_ text: String, filename: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(filename)\""],
            body: .init(byteBuffer: ByteBuffer(string: CSVText.byteOrderMark + text)))
    }

    /// A 303 to `location` (after a form post, or to the login page).
    package static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// A page for someone not logged in (the login form, an error).
    package static func bare(_ title: String, _ body: Markup, language: Language, status: HTTPResponse.Status = .ok, bodyClass: String = "bare") -> Response {
        html(
            """
            <!doctype html><html lang="\(language.htmlCode)"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1"><title>\(e(title))</title>
            <link rel="stylesheet" href="/assets/app.css"></head><body class="\(bodyClass)"><main id="main">\(body)</main></body></html>
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
