import CRMDomain
import Foundation
import NodeRuntime

/// The survey template editor: one row of fields per question (text, type, options, required,
/// skip logic, the statistics role). "Add a question" posts the form back with one more row;
/// saving stores the rows as the template's next version.
package enum TemplateEditor {
    /// The questions in a posted form, rows left blank or marked for removal skipped.
    package static func definition(from form: FormFields) -> SurveyDefinition {
        let count = max(0, min(Int(form["count"] ?? "") ?? 0, 100))
        var questions: [SurveyDefinition.Question] = []
        for index in 0..<count {
            let field = { (name: String) in form["q\(index)_\(name)"] }
            guard field("delete") == nil, let id = field("id"), let text = field("text") else { continue }
            let type = SurveyDefinition.QuestionType(rawValue: field("type") ?? "") ?? .text
            let options = (field("options") ?? "").split(whereSeparator: \.isNewline).compactMap { line -> SurveyDefinition.Option? in
                let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard let value = parts.first, !value.isEmpty else { return nil }
                return SurveyDefinition.Option(value: value, label: parts.count > 1 ? parts[1] : value)
            }
            let showIf = field("showIf").map { question in
                SurveyDefinition.Condition(question: question, equals: (field("showIfValues") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            }
            questions.append(
                SurveyDefinition.Question(
                    id: id, text: text, type: type, options: options.isEmpty ? nil : options,
                    required: field("required") != nil, showIf: showIf,
                    role: field("role").flatMap(SurveyDefinition.Role.init(rawValue:)),
                    maxLength: type == .text ? 2000 : nil))
        }
        return SurveyDefinition(questions: questions)
    }

    package static func render(
        id: String?, name: String?, purpose: String?, diseaseCode: String?, version: Int?, definition: SurveyDefinition, blankRows: Int,
        s: Strings, error: String?
    ) -> Markup {
        let rows = definition.questions.map(Optional.some) + Array(repeating: nil, count: blankRows)
        var html = errorBanner(error)
        html += """
            <form method="post" action="/templates" class="card" id="template-editor"><h2>\(e(name ?? s["templates"]))\(version.map { " · \(s["version"]) \($0)" } ?? "")</h2>
            <div class="grid"><div><label for="t-id">ID</label><input type="text" id="t-id" name="id" value="\(e(id))" required pattern="[A-Za-z0-9_-]{1,40}"></div>
            <div><label for="t-name">\(s["label"])</label><input type="text" id="t-name" name="name" value="\(e(name))" required></div>
            <div><label for="t-purpose">\(s["purpose"])</label><select id="t-purpose" name="purpose">
            \(["bedside", "discharge", "outpatient", "general"].markup { "<option\($0 == purpose ? " selected" : "")>\($0)</option>" })</select></div>
            <div><label for="t-disease">\(s["diseaseCode"])</label><input type="text" id="t-disease" name="diseaseCode" value="\(e(diseaseCode))" pattern="[A-Za-z0-9._\\-]{0,20}"></div></div>
            <input type="hidden" name="count" value="\(rows.count)">
            """
        for (index, question) in rows.enumerated() {
            let p = "q\(index)_"
            let options = question?.options?.map { "\($0.value)=\($0.label)" }.joined(separator: "\n") ?? ""
            html += """
                <fieldset class="question" id="question-\(index)"><legend>\(s["question"]) \(index + 1)</legend>
                <div class="grid"><div><label for="\(p)id">ID</label><input type="text" id="\(p)id" name="\(p)id" value="\(e(question?.id))" pattern="[A-Za-z0-9_]{1,32}"></div>
                <div><label for="\(p)type">\(s["kind"])</label><select id="\(p)type" name="\(p)type">
                \(["single", "multiple", "scale5", "nps", "text"].markup { "<option value=\"\($0)\"\($0 == question?.type.rawValue ? " selected" : "")>\(s["type_" + $0])</option>" })</select></div>
                <div><label for="\(p)role">\(s["statRole"])</label><select id="\(p)role" name="\(p)role"><option value="">—</option>
                <option value="overall"\(question?.role == .overall ? " selected" : "")>\(s["satisfaction"])</option>
                <option value="recommend"\(question?.role == .recommend ? " selected" : "")>NPS</option></select></div></div>
                <label for="\(p)text">\(s["questionText"])</label><input type="text" id="\(p)text" name="\(p)text" value="\(e(question?.text))">
                <label for="\(p)options">\(s["options"])</label><textarea id="\(p)options" name="\(p)options" rows="3">\(e(options))</textarea>
                <div class="grid"><div><label for="\(p)showIf">\(s["showIf"])</label><input type="text" id="\(p)showIf" name="\(p)showIf" value="\(e(question?.showIf?.question))"></div>
                <div><label for="\(p)showIfValues">\(s["showIfValues"])</label><input type="text" id="\(p)showIfValues" name="\(p)showIfValues" value="\(e(question?.showIf?.equals.joined(separator: ",")))"></div></div>
                <div class="choices"><label><input type="checkbox" name="\(p)required" value="1"\(question?.required == true ? " checked" : "")> \(s["required"])</label>
                <label><input type="checkbox" name="\(p)delete" value="1"> \(s["remove"])</label></div></fieldset>
                """
        }
        html += """
            <p><button type="submit" name="action" value="add" class="secondary" id="add-question">\(s["addQuestion"])</button>
            <button type="submit" name="action" value="save" id="save-template">\(s["saveVersion"])</button></p></form>
            """
        return html
    }
}
