import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime
import Replica
import Synchronization

/// How many answers one kiosk may give a minute: an unattended screen must not flood the archive.
final class KioskThrottle: Sendable {
    static let perMinute = 6
    private let sent = Mutex<[String: [Date]]>([:])

    /// Whether `kiosk` may record one more answer now (and counts it when it may).
    func admit(_ kiosk: String, now: Date = Date()) -> Bool {
        sent.withLock { sent in
            let recent = (sent[kiosk] ?? []).filter { now.timeIntervalSince($0) < 60 }
            guard recent.count < Self.perMinute else {
                sent[kiosk] = recent
                return false
            }
            sent[kiosk] = recent + [now]
            return true
        }
    }
}

/// A department's survey kiosk (自助机): a locked-down page with nothing but the survey, no login
/// and no way elsewhere. It is enrolled once with a machine credential of scope `kiosk`, kept in an
/// httpOnly cookie for `/kiosk` only; answers are recorded with mode `kiosk`, anonymously, at most
/// ``KioskThrottle/perMinute`` a minute, and the form empties itself after two idle minutes.
extension WebUI {
    static let kioskCookie = "suifang_kiosk"

    package func addKiosk(to router: Router<APIRequestContext>) {
        let crm = self.crm, machines = runtime.machines, throttle = kioskThrottle
        /// The enrolled kiosk: its credential (live, of scope kiosk alone) and its department.
        @Sendable func kiosk(_ request: Request) async -> (credential: MachineCredential, department: String)? {
            guard let value = request.cookies[Self.kioskCookie]?.value, let bar = value.lastIndex(of: "|") else { return nil }
            let department = String(value[..<bar]), token = String(value[value.index(after: bar)...])
            guard token.hasPrefix(MachineCredentialStore.prefix), let credential = try? await blocking({ machines.authenticate(token: token) }),
                Self.isKioskOnly(credential)
            else { return nil }
            return (credential, department)
        }
        router.get("/kiosk") { request, _ in
            Self.kioskEnrolPage(try await crm.organisation.references(.department), language: request.language, refused: false)
        }
        router.post("/kiosk") { request, context in
            let form = try await request.form(context: context)
            let token = (form["token"] ?? "").trimmingCharacters(in: .whitespaces)
            let departments = try await crm.organisation.references(.department)
            guard token.hasPrefix(MachineCredentialStore.prefix), let credential = try? await blocking({ machines.authenticate(token: token) }),
                Self.isKioskOnly(credential), let department = form["departmentId"], departments.contains(where: { $0.id == department }),
                !department.contains("|")
            else { return Self.kioskEnrolPage(departments, language: request.language, refused: true) }
            var response = WebPage.redirect("/kiosk/\(HTML.urlComponent(department))")
            response.setCookie(
                Cookie(name: Self.kioskCookie, value: department + "|" + token, maxAge: 366 * 86_400, path: "/kiosk", secure: true, httpOnly: true, sameSite: .strict))
            return response
        }
        router.get("/kiosk/:department") { request, context in
            let language = request.language
            guard let kiosk = await kiosk(request) else { return WebPage.redirect("/kiosk") }
            // A kiosk shows its own department's survey only.
            guard try context.parameters.id("department") == kiosk.department else { return WebPage.redirect("/kiosk/\(HTML.urlComponent(kiosk.department))") }
            return try await Self.kioskPage(crm, department: kiosk.department, language: language, error: nil)
        }
        router.post("/kiosk/:department") { request, context in
            let language = request.language, s = Strings(language: language)
            guard let (credential, department) = await kiosk(request) else { return WebPage.redirect("/kiosk") }
            guard try context.parameters.id("department") == department else { return WebPage.redirect("/kiosk/\(HTML.urlComponent(department))") }
            guard throttle.admit(credential.name) else {
                return Self.kioskMessage(s["kioskBusy"], department: department, language: language, status: .tooManyRequests)
            }
            let form = try await request.form(context: context)
            do {
                let current = try await crm.surveys.kioskTemplate()
                let version = form["templateVersion"].flatMap(Int.init) ?? current.version
                let template = (try? await crm.surveys.template(current.id, version: version)) ?? current
                let opinion = form["opinionKind"].flatMap(OpinionInput.Kind.init(rawValue:)).flatMap { kind in
                    form["opinionText"].map { OpinionInput(kind: kind, text: $0, departmentId: department) }
                }
                _ = try await crm.surveys.submitKiosk(
                    kiosk: credential.name, departmentId: department, responseId: form["responseId"] ?? "", templateId: template.id,
                    templateVersion: template.version, answers: Self.answers(form, template.definition), opinion: opinion,
                    capturedAt: crm.currentTimestamp())
            } catch let error as CRMError where error.refusesInput {
                return try await Self.kioskPage(crm, department: department, language: language, error: Strings(language: language).refusal(error.message))
            } catch let error as CRMError where error.kind == .conflict {
                // The same form twice (a double tap): it was recorded the first time.
                return Self.kioskMessage(s["linkThanks"], department: department, language: language, status: .ok)
            }
            return Self.kioskMessage(s["linkThanks"], department: department, language: language, status: .ok)
        }
    }

    /// A kiosk's credential opens the kiosk and nothing else: one that also reads FHIR or pops
    /// screens is not left on a public screen.
    static func isKioskOnly(_ credential: MachineCredential) -> Bool {
        credential.allows(.kiosk) && Set(credential.scopes) == [.kiosk]
    }

    static func kioskPage(_ crm: CRM, department: String, language: Language, error: String?) async throws -> Response {
        let s = Strings(language: language)
        guard let name = try await crm.organisation.references(.department).first(where: { $0.id == department })?.name else {
            return kioskMessage(s["kioskUnknown"], department: nil, language: language, status: .notFound)
        }
        let template: SurveyTemplate
        do {
            template = try await crm.surveys.kioskTemplate()
        } catch let error as CRMError where error.kind == .notFound {
            return kioskMessage(s["kioskNoSurvey"], department: nil, language: language, status: .serviceUnavailable)
        }
        let form = surveyForm(template, action: "/kiosk/\(HTML.urlComponent(department))", responseID: crm.replica.makeRowID(), strings: s, error: error)
        let hospital = (try? await crm.organisation.settings())?["hospitalName"] ?? ""
        return WebPage.bare(
            s["kiosk"],
            """
            <h1>\(e(hospital.isEmpty ? s["app"] : hospital)) · \(e(name))</h1><p class="muted">\(s["kioskIntro"])</p>
            \(form)<script src="/assets/app.js"></script>
            """, language: language, bodyClass: "bare kiosk")
    }

    /// A message that returns to a fresh form by itself (`department`), or stays (nil).
    static func kioskMessage(_ text: String, department: String?, language: Language, status: HTTPResponse.Status) -> Response {
        let s = Strings(language: language)
        let back: Markup =
            department.map {
                "<meta http-equiv=\"refresh\" content=\"8; url=/kiosk/\(HTML.urlComponent($0))\"><p><a class=\"button\" href=\"/kiosk/\(HTML.urlComponent($0))\" id=\"kiosk-next\">\(s["kioskNext"])</a></p>"
            } ?? .empty
        return WebPage.bare(s["kiosk"], "<h1>\(s["kiosk"])</h1><p class=\"flash\" role=\"status\">\(text)</p>\(back)", language: language, status: status, bodyClass: "bare kiosk")
    }

    /// Enrolling a screen: the kiosk credential an admin made (`suifang token create --scope kiosk`) and the department.
    static func kioskEnrolPage(_ departments: [ReferenceItem], language: Language, refused: Bool) -> Response {
        let s = Strings(language: language)
        return WebPage.bare(
            s["kiosk"],
            """
            <h1>\(s["kioskEnrol"])</h1>\(refused ? errorBanner(s["kioskRefused"]) : .empty)<p class="muted">\(s["kioskEnrolHint"])</p>
            <form method="post" action="/kiosk" class="card" id="kiosk-enrol">
            <label for="k-token">\(s["kioskToken"])</label><input type="password" id="k-token" name="token" required autocomplete="off">
            <label for="k-department">\(s["department"])</label><select id="k-department" name="departmentId">\(departments.markup { "<option value=\"\(e($0.id))\">\(e($0.name))</option>" })</select>
            <p><button type="submit">\(s["kioskStart"])</button></p></form>
            """, language: language, status: refused ? .unauthorized : .ok)
    }
}
