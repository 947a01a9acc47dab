import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime

/// The page a patient opens from a survey link in an SMS (`/s/<token>`): no login, nothing from a
/// CDN, made for a phone. The token is the credential (CRM+SurveyLinks): one answer per link, a
/// clear page for a link answered, expired or unknown, and no patient data on any of them.
extension WebUI {
    package func addSurveyLinks(to router: Router<APIRequestContext>) {
        let crm = self.crm
        router.get("/s/:token") { request, context in
            let token = try context.parameters.id("token")
            return try await Self.surveyLinkPage(crm, token: token, language: request.language, error: nil)
        }
        router.post("/s/:token") { request, context in
            let token = try context.parameters.id("token")
            let language = request.language
            let s = Strings(language: language)
            do {
                // The token first: an unknown link reads no body.
                let invitation = try await crm.surveys.invitation(token: token)
                let form = try await request.form(context: context)
                // The version the patient saw, if it still exists; else the current one.
                let version = form["templateVersion"].flatMap(Int.init) ?? invitation.template.version
                let template = (try? await crm.surveys.template(invitation.template.id, version: version)) ?? invitation.template
                let opinion = form["opinionKind"].flatMap(OpinionInput.Kind.init(rawValue:)).flatMap { kind in
                    form["opinionText"].map { OpinionInput(kind: kind, text: $0) }
                }
                _ = try await crm.surveys.answer(token: token, templateVersion: template.version, answers: Self.answers(form, template.definition), opinion: opinion)
            } catch let error as CRMError where error.kind == .notFound {
                return Self.surveyLinkMessage(s["linkUnknown"], language: language, status: .notFound)
            } catch let error as CRMError where error.refusesInput {
                return try await Self.surveyLinkPage(crm, token: token, language: language, error: Strings(language: language).refusal(error.message))
            } catch let error as CRMError where error.kind == .conflict {
                return try await Self.surveyLinkPage(crm, token: token, language: language, error: nil)
            }
            return Self.surveyLinkMessage(s["linkThanks"], language: language, status: .ok)
        }
    }

    /// The survey, or why it cannot be answered.
    static func surveyLinkPage(_ crm: CRM, token: String, language: Language, error: String?) async throws -> Response {
        let s = Strings(language: language)
        let invitation: CRM.Surveys.Invitation
        do {
            invitation = try await crm.surveys.invitation(token: token)
        } catch let error as CRMError where error.kind == .notFound {
            return surveyLinkMessage(s["linkUnknown"], language: language, status: .notFound)
        }
        switch invitation.state {
        case .answered: return surveyLinkMessage(s["linkAnswered"], language: language, status: .ok)
        case .expired: return surveyLinkMessage(s["linkExpired"], language: language, status: .gone)
        case .open:
            let form = surveyForm(invitation.template, action: "/s/\(HTML.urlComponent(token))", responseID: "", strings: s, error: error)
            let body: Markup = """
                <h1>\(e(invitation.hospital.isEmpty ? s["app"] : invitation.hospital))</h1><p class="muted">\(s["linkIntro"])</p>
                \(form)<script src="/assets/app.js"></script>
                """
            // The page's title names no survey: link previews would show it (a disease's survey tells the diagnosis).
            return WebPage.bare(invitation.hospital.isEmpty ? s["app"] : invitation.hospital, body, language: language)
        }
    }

    static func surveyLinkMessage(_ text: String, language: Language, status: HTTPResponse.Status) -> Response {
        WebPage.bare(
            Strings(language: language)["app"], "<h1>\(Strings(language: language)["app"])</h1><p class=\"flash\" role=\"status\">\(text)</p>", language: language, status: status)
    }
}
