import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime
import Replica

/// Patient search, the archive with its whole history, duplicates, merge and undo.
extension WebUI {
    package func addPatients(to router: Router<APIRequestContext>) {
        let crm = self.crm
        pages(router, .agent, .manager, .admin).get("/patients") { request, context in
            let session = try context.session()
            let form = FormFields(request.uri.query ?? "")
            let query = Self.archiveQuery(form)
            let s = session.strings
            var found: Page<Patient>?
            var refusal: String?
            if !query.isEmpty {
                do {
                    found = try await crm.patients.search(session.caller, query, page: try PageRequest(after: form["after"], limit: 50))
                } catch let error as CRMError where error.refusesInput {
                    refusal = session.strings.refusal(error.message)
                }
            }
            let duplicates = session.caller.role == .agent ? [] : try await crm.patients.duplicateCandidates(session.caller, limit: 20)
            var html = errorBanner(refusal)
            html += try await Self.searchForm(crm, form, s: s)
            if let found {
                html += Self.patientTable(found.items, s)
                if let next = found.next {
                    var more = form
                    more.set("after", next)
                    html += "<p><a href=\"/patients?\(Self.queryString(more))\">\(s["more"])</a></p>"
                }
            }
            html +=
                "<details class=\"card\" id=\"new-patient\"><summary>\(s["newPatient"])</summary>"
                + Self.patientForm(nil, action: "/patients", s: s) + "</details>"
            if !duplicates.isEmpty {
                html +=
                    "<h2>\(s["duplicates"])</h2><ul id=\"duplicates\">"
                    + duplicates.markup { group in
                        "<li>\(e(group.reason)): " + group.patientIds.map { "<a href=\"/patients/\(HTML.urlComponent($0))\">\(e($0))</a>" }.joined(separator: " · ") + "</li>"
                    } + "</ul>"
            }
            return session.page(s["patients"], html)
        }
        pages(router, .agent, .manager, .admin).get("/patients/:id") { request, context in
            let session = try context.session()
            return try await Self.patientPage(crm, session, id: try context.parameters.id(), smsDraft: nil, error: nil)
        }
        pages(router, .agent, .manager, .admin).post("/patients") { request, context in
            let session = try context.session()
            let form = try await request.form(context: context)
            let id = try await crm.patients.create(session.caller, Self.patientInput(form, comparedWith: nil))
            return WebPage.redirect("/patients/\(HTML.urlComponent(id))")
        }
        pages(router, .agent, .manager, .admin).post("/patients/:id/edit") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let form = try await request.form(context: context)
            // Only what the user changed is written: an untouched field must not compete with a
            // concurrent edit of it on another node (phone and address are keep-both).
            let input = await Self.patientInput(form, comparedWith: try crm.patients.patient(id))
            try await crm.patients.update(session.caller, id: id, input)
            return WebPage.redirect("/patients/\(HTML.urlComponent(id))")
        }
        pages(router, .manager, .admin).post("/patients/:id/merge") { request, context in
            let session = try context.session()
            let survivor = try context.parameters.id()
            let form = try await request.form(context: context)
            _ = try await crm.patients.merge(session.caller, survivorId: survivor, mergedId: form["mergedId"] ?? "", reason: form["reason"])
            return WebPage.redirect("/patients/\(HTML.urlComponent(survivor))")
        }
        pages(router, .manager, .admin).post("/merges/:id/undo") { request, context in
            let session = try context.session()
            let merge = try context.parameters.id()
            let form = try await request.form(context: context)
            try await crm.patients.undoMerge(session.caller, mergeId: merge)
            return WebPage.redirect("/patients/\(HTML.urlComponent(form["back"] ?? ""))")
        }
    }

    /// The archive card's fields as a form: empty for a new patient, filled in for an edit.
    /// An archive with the forms for it; `smsDraft` and `error` bring back a refused SMS.
    static func patientPage(_ crm: CRM, _ session: WebSession, id: String, smsDraft: FormFields?, error: String?) async throws -> Response {
        let (archive, departments) = await (try crm.patients.archive(session.caller, patientId: id), try crm.organisation.references(.department))
        var html = errorBanner(error)
        html += Self.archive(archive, canMerge: session.caller.role != .agent, s: session.strings)
        html +=
            "<details class=\"card\" id=\"edit-patient\"><summary>\(session.strings["editPatient"])</summary>"
            + Self.patientForm(archive.patient, action: "/patients/\(HTML.urlComponent(archive.patient.id))/edit", s: session.strings) + "</details>"
        if session.caller.role == .agent || session.caller.role == .manager {
            html += Self.serviceForms(archive.patient, departments: departments, s: session.strings)
            if crm.replica.role != .ward {
                html += Self.smsForm(archive.patient, templates: try await crm.sms.templates(), draft: smsDraft, s: session.strings)
            }
        }
        return session.page(archive.patient.name, html)
    }

    package static func patientForm(_ patient: Patient?, action: String, s: Strings) -> Markup {
        let prefix = patient == nil ? "n" : "u"
        func field(_ name: String, _ label: String, _ value: String?, type: String = "text", extra: Markup = .empty) -> Markup {
            "<div><label for=\"\(prefix)-\(name)\">\(s[label])</label><input type=\"\(type)\" id=\"\(prefix)-\(name)\" name=\"\(name)\" value=\"\(value)\"\(extra)></div>"
        }
        let gender = patient?.gender ?? "unknown"
        let genders = ["unknown", "female", "male"].markup { "<option value=\"\($0)\"\($0 == gender ? " selected" : "")>\(s["gender_" + $0])</option>" }
        return """
            <form method="post" action="\(action)" class="patient-form"><div class="grid">
            \(field("name", "name", patient?.name, extra: " required maxlength=\"50\""))
            <div><label for="\(prefix)-gender">\(s["gender"])</label><select id="\(prefix)-gender" name="gender">\(genders)</select></div>
            \(field("birthDate", "birthDate", patient?.birthDate, type: "date"))
            \(field("idNumber", "idNumber", patient?.idNumber, extra: " maxlength=\"20\""))
            \(field("phone", "phone", patient?.phone, type: "tel", extra: " maxlength=\"30\""))
            \(field("address", "address", patient?.address, extra: " maxlength=\"200\""))
            \(field("region", "region", patient?.region, extra: " maxlength=\"50\""))
            \(field("category", "category", patient?.category, extra: " maxlength=\"50\""))
            \(field("tags", "tags", patient?.tags.joined(separator: ", "), extra: " maxlength=\"400\""))
            \(field("contactName", "contactName", patient?.contactName, extra: " maxlength=\"50\""))
            \(field("contactPhone", "contactPhone", patient?.contactPhone, type: "tel", extra: " maxlength=\"30\""))
            </div><p><button type="submit" id="\(prefix)-save">\(s["save"])</button></p></form>
            """
    }

    /// The form as patient fields. For an edit, only fields that differ from `current` are set.
    package static func patientInput(_ form: FormFields, comparedWith current: Patient?) -> PatientInput {
        func changed(_ name: String, _ old: String?) -> String? {
            guard let value = form[name]?.trimmingCharacters(in: .whitespaces) else { return nil }
            if let current { return value == (old ?? "") ? nil : value }
            return value.isEmpty ? nil : value
        }
        let tags = form["tags"].map { $0.split(whereSeparator: { $0 == "," || $0 == "，" }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        return PatientInput(
            name: changed("name", current?.name), gender: changed("gender", current?.gender ?? (current == nil ? nil : "unknown")),
            birthDate: changed("birthDate", current?.birthDate), idNumber: changed("idNumber", current?.idNumber),
            phone: changed("phone", current?.phone), address: changed("address", current?.address),
            region: changed("region", current?.region), category: changed("category", current?.category),
            tags: tags.flatMap { Set($0) == Set(current?.tags ?? []) && current != nil ? nil : $0 },
            contactName: changed("contactName", current?.contactName), contactPhone: changed("contactPhone", current?.contactPhone))
    }

    /// The search's criteria from the page's query.
    static func archiveQuery(_ form: FormFields) -> ArchiveQuery {
        ArchiveQuery(
            text: form["q"], contact: form["contact"], departmentId: form["departmentId"], wardId: form["wardId"], doctorId: form["doctorId"],
            diagnosis: form["diagnosis"], admittedFrom: form["admittedFrom"], admittedTo: form["admittedTo"], dischargedFrom: form["dischargedFrom"],
            dischargedTo: form["dischargedTo"], status: form["status"].flatMap(ArchiveQuery.StayStatus.init(rawValue:)), bed: form["bed"],
            opinion: form["opinion"].flatMap(OpinionInput.Kind.init(rawValue:)))
    }

    static let searchKeys = [
        "q", "contact", "departmentId", "wardId", "doctorId", "diagnosis", "admittedFrom", "admittedTo", "dischargedFrom", "dischargedTo", "status", "bed",
        "opinion", "after",
    ]

    /// The search's criteria as a query string (only the known ones, re-encoded).
    static func queryString(_ form: FormFields) -> String {
        searchKeys.compactMap { key in form[key].map { "\(key)=\(HTML.urlComponent($0))" } }.joined(separator: "&")
    }

    /// The search form: the card's text up front, the other criteria folded (open when one is used).
    static func searchForm(_ crm: CRM, _ form: FormFields, s: Strings) async throws -> Markup {
        let (departments, wards, staff) = try await (
            crm.organisation.references(.department), crm.organisation.references(.ward), crm.organisation.references(.staff)
        )
        func select(_ name: String, _ label: String, _ options: [(String, String)]) -> Markup {
            let chosen = form[name]
            return """
                <div><label for="s-\(name)">\(s[label])</label><select id="s-\(name)" name="\(name)"><option value="">—</option>\(options.markup { value, text in "<option value=\"\(e(value))\"\(value == chosen ? " selected" : "")>\(e(text))</option>" })</select></div>
                """
        }
        func input(_ name: String, _ label: String, type: String = "text") -> Markup {
            "<div><label for=\"s-\(name)\">\(s[label])</label><input type=\"\(type)\" id=\"s-\(name)\" name=\"\(name)\" value=\"\(e(form[name]))\" maxlength=\"50\"></div>"
        }
        let advanced = searchKeys.dropFirst().contains { $0 != "after" && form[$0] != nil }
        let statuses = ArchiveQuery.StayStatus.allCases.map { ($0.rawValue, s["stay_" + $0.rawValue]) }
        let opinions: [OpinionInput.Kind] = [.important, .praise, .suggestion]
        return """
            <form method="get" action="/patients" role="search" class="card" id="patient-search"><label for="q">\(s["search"])</label>
            <input type="search" id="q" name="q" value="\(e(form["q"]))" placeholder="\(s["searchHint"])" maxlength="50">
            <details id="more-criteria"\(advanced ? " open" : "")><summary>\(s["moreCriteria"])</summary><div class="grid">
            \(select("departmentId", "department", departments.map { ($0.id, $0.name) }))\(select("wardId", "ward", wards.map { ($0.id, $0.name) }))
            \(select("doctorId", "doctor", staff.map { ($0.id, $0.name) }))\(input("diagnosis", "diagnosisPrefix"))
            \(input("admittedFrom", "admittedFrom", type: "date"))\(input("admittedTo", "admittedTo", type: "date"))
            \(input("dischargedFrom", "dischargedFrom", type: "date"))\(input("dischargedTo", "dischargedTo", type: "date"))
            \(select("status", "stayStatus", statuses))\(input("bed", "bed"))\(input("contact", "contactSearch"))
            \(select("opinion", "hasOpinion", opinions.map { ($0.rawValue, s[$0.rawValue]) }))
            </div></details><p><button type="submit">\(s["search"])</button></p></form>
            """
    }

    package static func patientTable(_ patients: [Patient], _ s: Strings) -> Markup {
        guard !patients.isEmpty else { return "<p class=\"muted\">\(s["noRows"])</p>" }
        return "<table id=\"results\"><thead><tr><th>\(s["name"])</th><th>\(s["birthDate"])</th><th>\(s["phone"])</th></tr></thead><tbody>"
            + patients.markup {
                "<tr><td><a href=\"/patients/\(HTML.urlComponent($0.id))\">\(e($0.name))</a></td><td>\(e($0.birthDate))</td><td>\(e($0.phone.map(PhoneNumber.masked)))</td></tr>"
            } + "</tbody></table>"
    }

    package static func archive(_ archive: PatientArchive, canMerge: Bool, s: Strings) -> Markup {
        let p = archive.patient
        var html: Markup = """
            <div class="card" id="patient" data-patient="\(e(p.id))"><p><b>\(s["name"])</b> \(e(p.name)) · \(e(s["gender_" + (p.gender ?? "unknown")])) · \(s["birthDate"]) \(e(p.birthDate))</p>
            <p><b>\(s["phone"])</b> \(e(p.phone)) · \(e(p.region)) \(e(p.address)) · \(e(p.category)) \(p.tags.map { tag -> Markup in "<span class=\"muted\">#\(tag)</span>" }.joined(separator: " "))</p>
            \(p.contactName == nil && p.contactPhone == nil ? .empty : "<p id=\"contact\"><b>\(s["contactName"])</b> \(e(p.contactName)) \(e(p.contactPhone))</p>" as Markup)
            <p class="muted">\(e(p.id))\(archive.mergedPatients.isEmpty ? .empty : " ← " + archive.mergedPatients.map { e($0.id) }.joined(separator: ", "))</p></div>
            """
        if let from = archive.redirectedFrom { html += "<p class=\"flash\">\(e(from)) → \(e(p.id))</p>" }
        if canMerge {
            // Managers and admins also record this patient's admissions and visits by hand.
            html += "<p><a class=\"button secondary\" id=\"admit-link\" href=\"/encounters?patient=\(HTML.urlComponent(p.id))\">\(s["encounters"])</a></p>"
            html += """
                <form method="post" action="/patients/\(HTML.urlComponent(p.id))/merge" class="card" id="merge-form">
                <label for="mergedId">\(s["mergedId"])</label><input type="text" id="mergedId" name="mergedId" required>
                <p><button type="submit" id="merge">\(s["merge"])</button></p></form>
                """
            let mergedIDs = Set(archive.mergedPatients.map(\.id))
            let undoable = archive.merges.filter { merge in merge.effective && (merge.survivorId == p.id || mergedIDs.contains(merge.mergedId)) }
            for merge in undoable {
                html += """
                    <form method="post" action="/merges/\(HTML.urlComponent(merge.id))/undo" class="inline undo-form">
                    <input type="hidden" name="back" value="\(e(p.id))"><button type="submit" class="secondary undo">\(s["undo"]) \(e(merge.mergedId))</button></form>
                    """
            }
        }
        var events: [(String, Markup)] = []
        events += archive.encounterEvents.map { entry -> (String, Markup) in (entry.at, "\(e(s["event_" + entry.kind])) \(e(entry.toWardId ?? entry.fromWardId))") }
        events += archive.surveyResponses.map { entry -> (String, Markup) in
            (
                entry.submittedAt,
                "\(s["surveyEvent"]) · \(e(s[entry.mode == "phone" ? "phoneMode" : entry.mode])) · \(s["satisfaction"]) \(entry.overall.map(String.init) ?? "–") / NPS \(entry.recommend.map(String.init) ?? "–")"
            )
        }
        events += archive.followUpRecords.map { entry -> (String, Markup) in (entry.at, "\(s["followUpEvent"]) · \(e(s[entry.outcome])) \(e(entry.note))") }
        events += archive.complaints.map { entry -> (String, Markup) in (entry.registeredAt, "\(s["complaintEvent"]) · \(s[entry.status.rawValue]): \(e(entry.summary))") }
        events += archive.consultations.map { entry -> (String, Markup) in (entry.at, "\(s["consultation"]): \(e(entry.topic))") }
        events += archive.appointments.map { entry -> (String, Markup) in (entry.scheduledAt, "\(s["appointment"]) · \(e(s[entry.kind])) · \(e(s["appt_" + entry.status]))") }
        events += archive.sms.map { entry -> (String, Markup) in (entry.createdAtOrScheduled, "\(s["sms"]) · \(e(s["sms_" + entry.status])): \(e(entry.body))") }
        html +=
            "<h2>\(s["history"])</h2><table id=\"history\"><tbody>"
            + events.sorted { $0.0 > $1.0 }.markup {
                "<tr><td>\(minute($0.0))</td><td>\($0.1)</td></tr>"
            } + "</tbody></table>"
        return html
    }
}

extension SMSMessage {
    package var createdAtOrScheduled: String { sentAt ?? scheduledAt }
}
