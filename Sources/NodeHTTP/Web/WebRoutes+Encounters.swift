import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime

/// Admissions, transfers, discharges and outpatient visits entered by hand: for hospitals without
/// an HIS feed, and for the days a feed is down. A bedside visitor works in its own ward (the
/// domain checks its reach); managers and admins in any ward.
extension WebUI {
    package func addEncounters(to router: Router<APIRequestContext>) {
        let crm = self.crm
        pages(router, .visitor, .manager, .admin).get("/encounters") { request, context in
            let session = try context.session()
            return try await Self.encountersPage(
                crm, session, ward: request.query("ward"), patientId: request.query("patient"), error: nil, form: nil, saved: request.query("saved") != nil)
        }
        pages(router, .visitor, .manager, .admin).post("/encounters") { request, context in
            let session = try context.session()
            var form = try await request.form(context: context)
            // An admission is to a ward (a nurse's own); an outpatient visit is to none, so that it
            // gives no ward a lasting reach to the patient.
            let outpatient = form["kind"] == "outpatient"
            let ward = outpatient ? nil : session.caller.role == .visitor ? session.caller.wardId : form["wardId"]
            do {
                // A new archive first when no existing one is named; kept in the form if the
                // admission is then refused, so that sending it again creates no second archive.
                guard let at = Self.localTimestamp(form["at"], crm.time) else { throw CRMError(.invalid, session.strings["timeRequired"]) }
                var patientId = form["patientId"]
                if patientId == nil {
                    patientId = try await crm.patients.create(
                        session.caller, PatientInput(name: form["name"], gender: form["gender"], birthDate: form["birthDate"], phone: form["phone"]))
                    form.set("patientId", patientId)
                }
                let kind = outpatient ? "outpatient" : "inpatient"
                let wards = try await crm.organisation.references(.ward)
                let department = form["departmentId"] ?? Self.department(of: ward, wards)
                _ = try await crm.encounters.record(
                    session.caller,
                    EncounterInput(
                        patientId: patientId ?? "", kind: kind, departmentId: department,
                        wardId: ward, doctorId: form["doctorId"], diagnosisCode: form["diagnosisCode"], admittedAt: at, bed: form["bed"]))
            } catch let error as CRMError {
                // Every refusal comes back with the form, which keeps a new archive's id: sent
                // again, it creates no second archive.
                return try await Self.encountersPage(crm, session, ward: ward, patientId: nil, error: session.strings.refusal(error.message), form: form)
            }
            return WebPage.redirect("/encounters?ward=\(HTML.urlComponent(ward ?? ""))&saved=1")
        }
        pages(router, .visitor, .manager, .admin).post("/encounters/:id/transfer") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let form = try await request.form(context: context)
            let encounter = try await crm.encounters.encounter(session.caller, id)
            let wards = try await crm.organisation.references(.ward)
            return try await Self.acting(crm, session, ward: encounter.wardId) {
                guard let toWard = form["toWardId"] else { throw CRMError(.invalid, session.strings["chooseWard"]) }
                // A time given must be one; none means now.
                let at = Self.localTimestamp(form["at"], crm.time)
                if form["at"] != nil, at == nil { throw CRMError(.invalid, session.strings["timeRequired"]) }
                try await crm.encounters.transfer(
                    session.caller, encounterId: id, toWardId: toWard, toDepartmentId: Self.department(of: toWard, wards), at: at, bed: form["bed"])
            }
        }
        pages(router, .visitor, .manager, .admin).post("/encounters/:id/discharge") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let form = try await request.form(context: context)
            let encounter = try await crm.encounters.encounter(session.caller, id)
            return try await Self.acting(crm, session, ward: encounter.wardId) {
                guard let status = form["status"].flatMap(DischargeStatus.init(rawValue:)) else { throw CRMError(.invalid, session.strings["chooseStatus"]) }
                guard let at = Self.localTimestamp(form["at"], crm.time) else { throw CRMError(.invalid, session.strings["timeRequired"]) }
                try await crm.encounters.discharge(session.caller, encounterId: id, at: at, status: status)
            }
        }
        pages(router, .visitor, .manager, .admin).post("/encounters/:id/cancel") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let encounter = try await crm.encounters.encounter(session.caller, id)
            return try await Self.acting(crm, session, ward: encounter.wardId) {
                try await crm.encounters.cancel(session.caller, encounterId: id)
            }
        }
    }

    /// Runs a ward action and goes back to the ward's list; a refusal shows the list with its message.
    static func acting(_ crm: CRM, _ session: WebSession, ward: String?, _ action: () async throws -> Void) async throws -> Response {
        do {
            try await action()
        } catch let error as CRMError where error.refusesInput || error.kind == .conflict || error.kind == .notFound {
            return try await encountersPage(crm, session, ward: ward, patientId: nil, error: session.strings.refusal(error.message), form: nil)
        }
        return WebPage.redirect("/encounters?ward=\(HTML.urlComponent(ward ?? ""))&saved=1")
    }

    /// A `datetime-local` value (`2026-12-04T09:30`) as a timestamp in the hospital's time; an
    /// ISO-8601 timestamp is taken as it is. Nil for anything else.
    static func localTimestamp(_ text: String?, _ time: LocalTime) -> String? {
        guard let text else { return nil }
        if let normalized = time.normalizedTimestamp(text) { return normalized }
        guard text.utf8.count == 16, let day = text.split(separator: "T").first, time.isDay(String(day)) else { return nil }
        let offset = String(time.timestamp(Date()).suffix(6))  // the hospital's offset (no summer time in China)
        return time.normalizedTimestamp(text + ":00" + offset)
    }

    static func department(of ward: String?, _ wards: [ReferenceItem]) -> String? {
        wards.first { $0.id == ward }?.departmentId
    }

    static func encountersPage(
        _ crm: CRM, _ session: WebSession, ward requested: String?, patientId: String?, error: String?, form: FormFields?, saved: Bool = false
    ) async throws -> Response {
        let s = session.strings
        let (wards, departments, staff) = await (
            try crm.organisation.references(.ward), try crm.organisation.references(.department), try crm.organisation.references(.staff)
        )
        let ward = session.caller.role == .visitor ? (session.caller.wardId ?? "") : (requested.flatMap { $0.isEmpty ? nil : $0 } ?? wards.first?.id ?? "")
        let patients = ward.isEmpty ? [] : try await crm.encounters.wardPatients(session.caller, wardId: ward)
        let now = String(crm.currentTimestamp().prefix(16))
        var html = errorBanner(error)
        if session.caller.role != .visitor {
            html += """
                <form method="get" action="/encounters" class="inline" id="ward-choice"><label for="ward">\(s["ward"])</label>
                <select id="ward" name="ward">\(wards.markup { "<option value=\"\(e($0.id))\"\($0.id == ward ? " selected" : "")>\(e($0.name))</option>" })</select>
                <button type="submit" class="secondary">\(s["show"])</button></form>
                """
        }
        html += "<h2>\(s["inWard"]) (\(patients.count))</h2>"
        html += patients.isEmpty ? "<p class=\"muted\">\(s["noRows"])</p>" : Self.admittedTable(patients, wards: wards, now: now, s: s)
        html += Self.admitForm(
            kind: "inpatient", ward: ward, wards: wards, departments: departments, staff: staff, patientId: patientId, now: now,
            form: form?["kind"] == "outpatient" ? nil : form, visitor: session.caller.role == .visitor, s: s)
        if session.caller.role != .visitor {  // a ward records admissions; outpatient visits belong to no ward
            html += Self.admitForm(
                kind: "outpatient", ward: ward, wards: wards, departments: departments, staff: staff, patientId: patientId, now: now,
                form: form?["kind"] == "outpatient" ? form : nil, visitor: false, s: s)
        }
        return session.page(s["encounters"], html, flash: saved ? s["encounterSaved"] : nil)
    }

    static func admittedTable(_ patients: [WardPatient], wards: [ReferenceItem], now: String, s: Strings) -> Markup {
        let rows = patients.map { entry -> Markup in
            let id = HTML.urlComponent(entry.encounter.id)
            let others = wards.filter { $0.id != entry.encounter.wardId }
            return """
                <tr id="encounter-\(e(entry.encounter.id))"><td>\(e(entry.encounter.bed))</td><td>\(e(entry.patient.name))</td><td>\(minute(entry.encounter.admittedAt))</td><td>\(e(entry.encounter.diagnosisCode))</td>
                <td><form method="post" action="/encounters/\(id)/transfer" class="inline transfer">
                <label for="t-\(e(entry.encounter.id))" class="visually-hidden">\(s["toWard"])</label>
                <select id="t-\(e(entry.encounter.id))" name="toWardId">\(others.markup { "<option value=\"\(e($0.id))\">\(e($0.name))</option>" })</select>
                <input type="text" name="bed" maxlength="20" size="4" aria-label="\(s["newBed"])" placeholder="\(s["bed"])">
                <input type="datetime-local" name="at" value="\(now)" aria-label="\(s["transferredAt"])">
                <button type="submit" class="secondary">\(s["transfer"])</button></form></td>
                <td><form method="post" action="/encounters/\(id)/discharge" class="inline discharge">
                <label for="d-\(e(entry.encounter.id))" class="visually-hidden">\(s["dischargeStatuses"])</label>
                <select id="d-\(e(entry.encounter.id))" name="status">\(DischargeStatus.allCases.markup { "<option value=\"\($0.rawValue)\"\($0 == .improved ? " selected" : "")>\(s["ds_" + $0.rawValue])</option>" })</select>
                <input type="datetime-local" name="at" value="\(now)" aria-label="\(s["dischargedAt"])">
                <button type="submit">\(s["discharge"])</button></form></td>
                <td><form method="post" action="/encounters/\(id)/cancel" class="inline cancel" data-confirm="\(s["cancelAdmissionConfirm"])"><button type="submit" class="secondary">\(s["cancelAdmission"])</button></form></td></tr>
                """
        }
        return
            "<table id=\"admitted\"><thead><tr><th>\(s["bed"])</th><th>\(s["name"])</th><th>\(s["admittedAt"])</th><th>\(s["diagnosisCode"])</th><th>\(s["transfer"])</th><th>\(s["discharge"])</th><th><span class=\"visually-hidden\">\(s["cancelAdmission"])</span></th></tr></thead><tbody>\(rows.joined())</tbody></table>"
    }

    /// The form for an admission (`inpatient`) or an outpatient visit: an existing archive's id, or
    /// a new archive's fields.
    static func admitForm(
        kind: String, ward: String, wards: [ReferenceItem], departments: [ReferenceItem], staff: [ReferenceItem], patientId: String?, now: String,
        form: FormFields?, visitor: Bool, s: Strings
    ) -> Markup {
        let p = kind == "inpatient" ? "a" : "v"
        let wardChoice: Markup =
            visitor || kind == "outpatient"
            ? .empty
            : "<div><label for=\"\(p)-ward\">\(s["ward"])</label><select id=\"\(p)-ward\" name=\"wardId\">\(wards.markup { "<option value=\"\(e($0.id))\"\($0.id == ward ? " selected" : "")>\(e($0.name))</option>" })</select></div>"
        let departmentChoice: Markup =
            kind == "inpatient"
            ? .empty
            : "<div><label for=\"\(p)-department\">\(s["department"])</label><select id=\"\(p)-department\" name=\"departmentId\">\(departments.markup { "<option value=\"\(e($0.id))\"\($0.id == form?["departmentId"] ? " selected" : "")>\(e($0.name))</option>" })</select></div>"
        return """
            <form method="post" action="/encounters" class="card" id="\(kind == "inpatient" ? "admit-form" : "visit-form")">
            <h2>\(s[kind == "inpatient" ? "admitPatient" : "outpatientVisit"])</h2><input type="hidden" name="kind" value="\(kind)">
            <div class="grid"><div><label for="\(p)-patient">\(s["archiveId"])</label><input type="text" id="\(p)-patient" name="patientId" value="\(e(form?["patientId"] ?? patientId))"></div>
            <div><label for="\(p)-name">\(s["newArchiveName"])</label><input type="text" id="\(p)-name" name="name" value="\(e(form?["name"]))"></div>
            <div><label for="\(p)-gender">\(s["gender"])</label><select id="\(p)-gender" name="gender">\(["unknown", "male", "female"].markup { "<option value=\"\($0)\"\($0 == form?["gender"] ? " selected" : "")>\(s["gender_" + $0])</option>" })</select></div>
            <div><label for="\(p)-birth">\(s["birthDate"])</label><input type="date" id="\(p)-birth" name="birthDate" value="\(e(form?["birthDate"]))"></div>
            <div><label for="\(p)-phone">\(s["phone"])</label><input type="tel" id="\(p)-phone" name="phone" value="\(e(form?["phone"]))"></div></div>
            <div class="grid">\(wardChoice)\(departmentChoice)
            <div><label for="\(p)-doctor">\(s["doctor"])</label><select id="\(p)-doctor" name="doctorId"><option value="">—</option>\(staff.markup { "<option value=\"\(e($0.id))\"\($0.id == form?["doctorId"] ? " selected" : "")>\(e($0.name))</option>" })</select></div>
            \(kind == "inpatient" ? "<div><label for=\"\(p)-bed\">\(s["bed"])</label><input type=\"text\" id=\"\(p)-bed\" name=\"bed\" value=\"\(e(form?["bed"]))\" maxlength=\"20\"></div>" as Markup : .empty)
            <div><label for="\(p)-diagnosis">\(s["diagnosisCode"])</label><input type="text" id="\(p)-diagnosis" name="diagnosisCode" value="\(e(form?["diagnosisCode"]))" maxlength="20"></div>
            <div><label for="\(p)-at">\(s[kind == "inpatient" ? "admittedAt" : "visitAt"])</label><input type="datetime-local" id="\(p)-at" name="at" value="\(e(form?["at"] ?? now))" required></div></div>
            <p><button type="submit" id="\(kind == "inpatient" ? "admit" : "record-visit")">\(s[kind == "inpatient" ? "admitPatient" : "outpatientVisit"])</button></p></form>
            """
    }
}
