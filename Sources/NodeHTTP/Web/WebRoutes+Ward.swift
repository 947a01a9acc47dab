import CRMDomain
import Foundation
import HTTPTypes
import Hummingbird
import NodeRuntime
import Replica

/// The ward tablet: admitted patients (bedside visits due first) and the survey form.
extension WebUI {
    package func addWard(to router: Router<APIRequestContext>) {
        let crm = self.crm
        pages(router, .visitor, .manager, .admin).get("/ward") { request, context in
            let session = try context.session()
            let ward = session.caller.wardId ?? request.query("ward") ?? ""
            let patients = try await crm.encounters.wardPatients(session.caller, wardId: ward)
            return session.page(
                "\(session.strings["ward"]) \(ward)", Self.wardList(patients, session.strings), flash: request.query("saved").map { _ in session.strings["surveySaved"] })
        }
        pages(router, .visitor, .manager).get("/ward/survey/:encounter") { request, context in
            let session = try context.session()
            let encounterID = try context.parameters.id("encounter")
            let encounter = try await crm.encounters.encounter(session.caller, encounterID)
            let patient = try await crm.patients.patient(encounter.patientId)
            let template = try await Self.bedsideTemplate(crm, encounter)
            return session.page(
                session.strings["startSurvey"] + " · " + patient.name,
                Self.surveyForm(template, encounter: encounter, responseID: crm.replica.makeRowID(), strings: session.strings, error: nil))
        }
        pages(router, .visitor, .manager).post("/ward/survey/:encounter") { request, context in
            let session = try context.session()
            let encounterID = try context.parameters.id("encounter")
            let form = try await request.form(context: context)
            do {
                let encounter = try await crm.encounters.encounter(session.caller, encounterID)
                let template = try await Self.bedsideTemplate(crm, encounter)
                let task = try await crm.encounters.wardPatients(session.caller, wardId: encounter.wardId ?? "").first { $0.encounter.id == encounterID }?.bedsideTaskId
                try await Self.submitSurvey(
                    crm, session.caller, form, template, patientId: encounter.patientId, wardId: encounter.wardId,
                    departmentId: encounter.departmentId, mode: .bedside, taskId: task, offline: true)
            } catch let error as CRMError where error.refusesInput || error.kind == .conflict {
                let encounter = try await crm.encounters.encounter(session.caller, encounterID)
                let template = try await Self.bedsideTemplate(crm, encounter)
                // The tablet's queue keeps answers the gateway will never take apart from those it retries.
                var page = session.page(
                    session.strings["startSurvey"],
                    Self.surveyForm(
                        template, encounter: encounter, responseID: form["responseId"] ?? crm.replica.makeRowID(),
                        strings: session.strings, error: session.strings.refusal(error.message)))
                page.headers[HTTPField.Name("Suifang-Refused")!] = "answers"
                return page
            }
            return WebPage.redirect("/ward?saved=1")
        }
    }

    /// The bedside template for the encounter's diagnosis (per-disease templates first).
    package static func bedsideTemplate(_ crm: CRM, _ encounter: Encounter) async throws -> SurveyTemplate {
        try await crm.surveys.surveyTemplate(purpose: "bedside", diagnosisCode: encounter.diagnosisCode)
    }

    package static func wardList(_ patients: [WardPatient], _ s: Strings) -> Markup {
        guard !patients.isEmpty else { return "<p class=\"muted\">\(s["noRows"])</p>" }
        let rows = patients.map { entry -> Markup in
            let state: Markup =
                entry.bedsideVisitDue
                ? "<span class=\"due\">\(s["visitDue"])</span> <span class=\"muted\">\(s["dueBy"]) \(minute(entry.bedsideDueBy))</span>"
                : "<span class=\"done\">\(s["visited"])</span>"
            return """
                <tr><td>\(e(entry.encounter.bed))</td><td>\(e(entry.patient.name))</td><td>\(minute(entry.encounter.admittedAt))</td>
                <td>\(state)</td><td>\(entry.bedsideVisitDue ? "<a class=\"button\" href=\"/ward/survey/\(HTML.urlComponent(entry.encounter.id))\">\(s["startSurvey"])</a>" as Markup : .empty)</td></tr>
                """
        }.joined()
        return
            "<table><caption class=\"muted\">\(s["admitted"]): \(patients.count)</caption><thead><tr><th>\(s["bed"])</th><th>\(s["name"])</th><th>\(s["admittedAt"])</th><th>\(s["bedsideVisit"])</th><th><span class=\"visually-hidden\">\(s["startSurvey"])</span></th></tr></thead><tbody>\(rows)</tbody></table>"
    }

    package static func surveyForm(_ template: SurveyTemplate, encounter: Encounter, responseID: String, strings s: Strings, error: String?) -> Markup {
        surveyForm(template, action: "/ward/survey/\(HTML.urlComponent(encounter.id))", responseID: responseID, strings: s, error: error, offline: true)
    }

    /// A template version as a touch-first form posting to `action`. An `offline` form (the bedside
    /// tablet's) is kept in the browser when the gateway is out of reach and sent when it is back
    /// (app.js); its response id makes the sending idempotent.
    package static func surveyForm(
        _ template: SurveyTemplate, action: String, responseID: String, strings s: Strings, error: String?, offline: Bool = false
    ) -> Markup {
        var html = errorBanner(error)
        html += "<form method=\"post\" action=\"\(action)\" id=\"survey\"\(offline ? " data-offline" : "")>"
        if offline {
            html += "<p id=\"offline-status\" class=\"flash\" role=\"status\" hidden data-saved=\"\(s["offlineSaved"])\" data-used=\"\(s["offlineUsed"])\"></p>"
        }
        html += "<input type=\"hidden\" name=\"responseId\" value=\"\(e(responseID))\">"
        // The version the form shows is the version the answers are checked against, even if a newer one appears meanwhile.
        html += "<input type=\"hidden\" name=\"templateId\" value=\"\(e(template.id))\"><input type=\"hidden\" name=\"templateVersion\" value=\"\(template.version)\">"
        for question in template.definition.questions {
            let name = "q_" + question.id
            let required: Markup = question.required == true ? " <span class=\"muted\">(\(s["required"]))</span>" : .empty
            let condition = question.showIf.map { show -> Markup in " data-show-if=\"\(show.question)\" data-values=\"\(show.equals.joined(separator: "|"))\"" } ?? .empty
            html += "<fieldset\(condition) id=\"field-\(e(question.id))\"><legend>\(e(question.text))\(required)</legend>"
            switch question.type {
            case .single, .multiple:
                let type = question.type == .single ? "radio" : "checkbox"
                let choices = (question.options ?? []).map { option -> Markup in
                    "<label><input type=\"\(type)\" name=\"\(name)\" value=\"\(option.value)\"\(question.type == .single && question.required == true ? " required" : "")>\(option.label)</label>"
                }
                html += "<div class=\"choices\">\(choices.joined())</div>"
            case .scale5, .nps:
                let range = question.type == .scale5 ? Array(1...5) : Array(0...10)
                let choices = range.map { value -> Markup in
                    "<label><input type=\"radio\" name=\"\(name)\" value=\"\(value)\"\(question.required == true ? " required" : "")>\(value)</label>"
                }
                html += "<div class=\"choices\">\(choices.joined())</div>"
            case .text:
                html += "<textarea name=\"\(name)\" aria-label=\"\(e(question.text))\" maxlength=\"\(question.maxLength ?? 2000)\"></textarea>"
            }
            html += "</fieldset>"
        }
        html += """
            <fieldset><legend>\(s["opinion"])</legend>
            <div class="choices"><label><input type="radio" name="opinionKind" value="" checked>—</label>
            <label><input type="radio" name="opinionKind" value="important">\(s["important"])</label>
            <label><input type="radio" name="opinionKind" value="praise">\(s["praise"])</label></div>
            <textarea name="opinionText" aria-label="\(s["opinion"])" maxlength="2000"></textarea></fieldset>
            <p><button type="submit" id="submit-survey">\(s["submit"])</button></p></form>
            """
        return html
    }

    /// Submits a survey form: answers, an optional flagged opinion, the response id the form carried.
    package static func submitSurvey(
        _ crm: CRM, _ caller: Caller, _ form: FormFields, _ current: SurveyTemplate, patientId: String, wardId: String?,
        departmentId: String?, mode: SurveyMode, taskId: String?, offline: Bool = false
    ) async throws {
        var template = current
        if let id = form["templateId"], let version = form["templateVersion"].flatMap(Int.init) { template = try await crm.surveys.template(id, version: version) }
        var opinions: [OpinionInput] = []
        if let kind = form["opinionKind"].flatMap(OpinionInput.Kind.init(rawValue:)), let text = form["opinionText"] {
            opinions.append(OpinionInput(kind: kind, text: text, departmentId: departmentId))
        }
        _ = try await crm.surveys.submit(
            caller,
            SurveySubmission(
                id: form["responseId"] ?? "", templateId: template.id, templateVersion: template.version, patientId: patientId,
                wardId: wardId, departmentId: departmentId, mode: mode, taskId: taskId,
                submittedAt: offline ? crm.captureTimestamp(form["capturedAt"]) : crm.currentTimestamp(), answers: answers(form, template.definition),
                opinions: opinions))
    }

    /// The form's answers as the template's JSON answers; skipped questions are absent.
    package static func answers(_ form: FormFields, _ definition: SurveyDefinition) -> [String: JSONValue] {
        var answers: [String: JSONValue] = [:]
        for question in definition.questions {
            let name = "q_" + question.id
            switch question.type {
            case .multiple:
                let values = form.all(name).filter { !$0.isEmpty }
                if !values.isEmpty { answers[question.id] = .array(values.map(JSONValue.string)) }
            case .scale5, .nps:
                if let text = form[name] { answers[question.id] = Int(text).map { .number(Double($0)) } ?? .string(text) }
            case .single, .text:
                if let text = form[name] { answers[question.id] = .string(text) }
            }
        }
        return answers
    }
}
