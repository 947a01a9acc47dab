import CRMDomain
import Foundation
import Hummingbird
import NIOCore
import NodeRuntime
import Sodium
import Synchronization

/// Files a person previewed cleanly, kept on the node until they import them: the import takes
/// exactly the text that was checked (never a copy sent back through the page). At most four, for
/// 30 minutes, each for the person who previewed it.
final class ImportDrafts: Sendable {
    struct Draft {
        var user: String
        var dataset: CSVDataset
        var text: String
        var storedAt: Date
    }
    static let capacity = 4
    static let lifetime: TimeInterval = 1800
    private let drafts = Mutex<[String: Draft]>([:])

    /// Keeps `text` and returns the id to import it by.
    func keep(_ text: String, dataset: CSVDataset, user: String, now: Date = Date()) -> String {
        let id = Sodium.hexHash(UUID().uuidString + text.prefix(64)).prefix(32).lowercased()
        drafts.withLock { drafts in
            drafts = drafts.filter { now.timeIntervalSince($0.value.storedAt) < Self.lifetime }
            while drafts.count >= Self.capacity, let oldest = drafts.min(by: { $0.value.storedAt < $1.value.storedAt })?.key { drafts[oldest] = nil }
            drafts[String(id)] = Draft(user: user, dataset: dataset, text: text, storedAt: now)
        }
        return String(id)
    }

    /// The draft `id` of `user`, taken (it imports once); nil when unknown, expired or another's.
    func take(_ id: String, user: String, now: Date = Date()) -> Draft? {
        drafts.withLock { drafts in
            guard let draft = drafts[id], draft.user == user, now.timeIntervalSince(draft.storedAt) < Self.lifetime else { return nil }
            drafts[id] = nil
            return draft
        }
    }
}

/// Import and export (managers, admins): a CSV file is previewed first (its first rows and every
/// line's problem) and imported only when no line is wrong; every dataset, and each survey's
/// answers with a column per question, downloads as CSV.
extension WebUI {
    /// The largest file the page takes: the form carries it base64-encoded, a third larger.
    static let largestImportForm = 24 << 20

    package func addData(to router: Router<APIRequestContext>) {
        let crm = self.crm, drafts = importDrafts
        pages(router, .manager, .admin).get("/data") { request, context in
            let session = try context.session()
            return try await Self.dataPage(crm, session, body: .empty)
        }
        pages(router, .manager, .admin).post("/data/import") { request, context in
            let session = try context.session()
            let buffer = try await request.body.collect(upTo: Self.largestImportForm)
            let form = FormFields(String(buffer: buffer))
            let s = session.strings
            let apply = form["action"] == "apply"
            var dataset = form["dataset"].flatMap(CSVDataset.init(rawValue:))
            let text: String
            do {
                if apply {
                    // Exactly the text the preview checked, kept on the node.
                    guard let draft = drafts.take(form["draft"] ?? "", user: session.caller.userId) else {
                        throw CRMError(.invalid, "the preview expired; preview the file again")
                    }
                    (text, dataset) = (draft.text, draft.dataset)
                } else {
                    text = try Self.uploadedText(form)
                }
            } catch let error as CRMError where error.refusesInput {
                return try await Self.dataPage(crm, session, body: errorBanner(session.strings.refusal(error.message)))
            }
            guard let dataset else { throw CRMError(.invalid, "choose a dataset") }
            let report: ImportReport
            do {
                report = try await crm.patients.importCSV(session.caller, dataset, text: text, preview: !apply)
            } catch let error as CRMError where error.refusesInput {
                return try await Self.dataPage(crm, session, body: errorBanner(session.strings.refusal(error.message)))
            }
            var html: Markup = "<section class=\"card\" id=\"import-report\"><h2>\(s["dataset-" + dataset.rawValue])</h2>"
            html += Self.previewTable(text, s: s)
            if !report.rejected.isEmpty {
                html += "<p class=\"error\" role=\"alert\">\(s["importRejected"].replacingOccurrences(of: "{n}", with: String(report.rejected.count)))</p>"
                html += "<table id=\"rejected-lines\"><thead><tr><th>\(s["line"])</th><th>\(s["reason"])</th></tr></thead><tbody>"
                html += report.rejected.prefix(500).markup { "<tr><td>\($0.line)</td><td>\(e(s.refusal($0.reason)))</td></tr>" }
                html += "</tbody></table>"
            } else if report.applied {
                html += "<p class=\"flash\" role=\"status\" id=\"import-done\">\(s["importDone"].replacingOccurrences(of: "{n}", with: String(report.imported)))</p>"
            } else {
                // A clean preview: the same text, posted again, imports it.
                html += """
                    <p role="status" id="import-ready">\(s["importReady"].replacingOccurrences(of: "{n}", with: String(report.imported)))</p>
                    <form method="post" action="/data/import"><input type="hidden" name="action" value="apply">
                    <input type="hidden" name="draft" value="\(drafts.keep(text, dataset: dataset, user: session.caller.userId))"><button type="submit" id="import-apply">\(s["importApply"].replacingOccurrences(of: "{n}", with: String(report.imported)))</button></form>
                    """
            }
            return try await Self.dataPage(crm, session, body: html + "</section>")
        }
        pages(router, .manager, .admin).get("/data/:file") { request, context in
            let session = try context.session()
            let file = try context.parameters.id("file")
            guard file.hasSuffix(".csv") else { throw CRMError(.notFound, "no such download") }
            let name = String(file.dropLast(4))
            let text: String
            if name == "survey" {
                text = try await crm.patients.exportSurvey(session.caller, templateId: request.query("templateId") ?? "")
            } else if let dataset = ExportDataset(rawValue: name) {
                text = try await crm.patients.exportCSV(session.caller, dataset)
            } else {
                throw CRMError(.notFound, "no such download")
            }
            let filename = name == "survey" ? "survey-\(request.query("templateId").map(HTML.urlComponent) ?? "").csv" : file
            return WebPage.csvDownload(text, filename: filename)
        }
    }

    /// The file the page's script read (base64, any encoding the import takes), else the pasted text.
    static func uploadedText(_ form: FormFields) throws -> String {
        if let encoded = form["file"] {
            guard let bytes = Data(base64Encoded: encoded) else { throw CRMError(.invalid, "the file could not be read; choose it again") }
            return try CSVText.decode([UInt8](bytes)).text
        }
        guard let text = form["text"], !text.isEmpty else { throw CRMError(.invalid, "choose a file or paste its lines") }
        return text
    }

    /// The file's first lines as a table, so the person sees its columns were read as meant.
    static func previewTable(_ text: String, s: Strings) -> Markup {
        // The first lines only: a file that is not CSV at all gets its reason from the import.
        let head = text.split(separator: "\n", maxSplits: 12, omittingEmptySubsequences: false).prefix(12).joined(separator: "\n")
        guard let records = try? CSV.parse(head), let header = records.first else { return .empty }
        let rows = records.dropFirst().prefix(10)
        return """
            <h3>\(s["previewRows"].replacingOccurrences(of: "{n}", with: String(rows.count)))</h3>
            <div class="scroll"><table id="import-preview"><thead><tr><th>\(s["line"])</th>\(header.fields.markup { "<th>\(e($0))</th>" })</tr></thead>
            <tbody>\(rows.markup { row in "<tr><td class=\"muted\">\(row.line)</td>\(row.fields.markup { "<td>\(e(String($0.prefix(80))))</td>" })</tr>" })</tbody></table></div>
            """
    }

    static func dataPage(_ crm: CRM, _ session: WebSession, body: Markup) async throws -> Response {
        let s = session.strings
        let templates = try await crm.surveys.templates()
        var html = body
        html += """
            <form method="post" action="/data/import" class="card" id="import-form" data-file-field="file"><h2>\(s["importCSV"])</h2>
            <p class="muted">\(s["importHint"])</p>
            <label for="dataset">\(s["dataset"])</label><select id="dataset" name="dataset">\(CSVDataset.allCases.markup { "<option value=\"\($0.rawValue)\">\(s["dataset-" + $0.rawValue])</option>" })</select>
            <label for="csv-file">\(s["csvFile"])</label><input type="file" id="csv-file" accept=".csv,text/csv" data-base64-into="file">
            <input type="hidden" name="file" id="file">
            <label for="csv-text">\(s["csvPaste"])</label><textarea id="csv-text" name="text" rows="4"></textarea>
            <input type="hidden" name="action" value="preview"><p><button type="submit" id="import-preview-button">\(s["preview"])</button></p></form>
            <section class="card" id="exports"><h2>\(s["exportCSV"])</h2><ul class="downloads">
            \(ExportDataset.allCases.markup { "<li><a href=\"/data/\($0.rawValue).csv\" download>\(s["dataset-" + $0.rawValue])</a></li>" })</ul>
            <form method="get" action="/data/survey.csv" class="inline"><label for="templateId">\(s["surveyExport"])</label>
            <select id="templateId" name="templateId">\(templates.markup { "<option value=\"\(e($0.id))\">\(e($0.name))</option>" })</select>
            <button type="submit" class="secondary">\(s["csv"])</button></form></section>
            """
        return session.page(s["data"], html)
    }
}
