import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime

/// System administration (系统管理): departments, wards, staff and diseases; system parameters;
/// the hospital's own holidays and make-up working days.
extension WebUI {
    /// The parameters an admin sets here, with the value used while unset.
    /// What a setting's value is: free text, a whole number in a range, or a time of day.
    package enum SettingKind: Sendable {
        case text(maxLength: Int)
        case number(ClosedRange<Int>)
        case time
        /// An address (`https://…`), or nothing.
        case link

        /// Whether the setting may be left empty.
        var optional: Bool { if case .link = self { true } else { false } }
    }

    package static let editableSettings: [(key: String, fallback: String, kind: SettingKind)] = [
        ("hospitalName", "医院", .text(maxLength: 50)),
        ("complaintDeadlineWorkingDays", String(CRM.Complaints.defaultComplaintDeadline), .number(1...1000)),
        ("smsDailyCap", String(CRM.SMS.defaultSMSDailyCap), .number(1...1000)),
        ("greetingTime", CRM.SMS.defaultGreetingTime, .time),
        ("appointmentReminderTime", CRM.SMS.defaultReminderTime, .time),
        ("holidayGreetingDays", String(CRM.SMS.defaultHolidayGreetingDays), .number(1...3660)),
        ("surveyLinkBase", "", .link),
        ("surveyLinkDays", String(CRM.Surveys.defaultLinkDays), .number(1...90)),
    ]

    package func addOrganisation(to router: Router<APIRequestContext>) {
        let crm = self.crm
        pages(router, .admin, .manager).get("/organisation") { request, context in
            let session = try context.session()
            var lists: [(ReferenceKind, [ReferenceItem])] = []
            for kind in ReferenceKind.allCases { lists.append((kind, try await crm.organisation.references(kind))) }
            let settings = try await crm.organisation.settings()
            let days = try await crm.organisation.calendarOverrides()
            let isAdmin = session.caller.role == .admin
            let html =
                Self.referenceLists(lists, s: session.strings)
                + (isAdmin ? Self.settingsForm(settings, s: session.strings) + Self.calendarSection(days, s: session.strings) : .empty)
            return session.page(session.strings["organisation"], html, flash: request.query("saved").map { _ in session.strings["saved"] })
        }
        pages(router, .admin, .manager).post("/organisation/reference/:kind") { request, context in
            let session = try context.session()
            guard let kind = ReferenceKind(rawValue: try context.parameters.id("kind")) else { throw CRMError(.notFound, "no such list") }
            let form = try await request.form(context: context)
            func value(_ name: String) -> String? {
                form[name].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
            }
            let item = ReferenceItem(
                id: value("id") ?? "", name: value("name") ?? "", departmentId: value("departmentId"),
                code: value("code"), title: value("title"))
            try await crm.organisation.saveReference(session.caller, kind, item)
            return WebPage.redirect("/organisation?saved=1#\(kind.rawValue)")
        }
        pages(router, .admin).post("/organisation/settings") { request, context in
            let session = try context.session()
            let form = try await request.form(context: context)
            let current = try await crm.organisation.settings()
            for (key, fallback, kind) in Self.editableSettings {
                // An optional setting posted empty is cleared.
                let posted = kind.optional ? form.all(key).first : form[key]
                guard let value = posted?.trimmingCharacters(in: .whitespaces), value != (current[key] ?? fallback) else { continue }
                switch kind {
                case .number(let range):
                    guard let number = Int(value), range.contains(number) else {
                        throw CRMError(.invalid, "\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
                    }
                case .text(let maxLength):
                    guard !value.isEmpty, value.count <= maxLength else { throw CRMError(.invalid, "\(key) must be 1–\(maxLength) characters") }
                case .link:
                    guard value.isEmpty || ((value.hasPrefix("https://") || value.hasPrefix("http://")) && value.count <= 200 && !value.contains(where: \.isWhitespace))
                    else { throw CRMError(.invalid, "\(key) must be an address starting https://") }
                case .time:
                    guard value.utf8.count == 5, let hour = Int(value.prefix(2)), let minute = Int(value.suffix(2)), value.dropFirst(2).first == ":",
                        (0..<24).contains(hour), (0..<60).contains(minute)
                    else { throw CRMError(.invalid, "\(key) must be a time of day (HH:mm)") }
                }
                try await crm.organisation.setSetting(session.caller, key: key, value: value)
            }
            return WebPage.redirect("/organisation?saved=1#settings")
        }
        pages(router, .admin).post("/organisation/calendar/import") { request, context in
            let session = try context.session()
            let form = try await request.form(context: context)
            let s = session.strings
            let text = form["schedule"] ?? ""
            let schedule = CalendarSchedule(parsing: text, time: crm.time)
            var html: Markup = "<p><a href=\"/organisation#calendar\">\(s["organisation"])</a></p>"
            if form["action"] == "apply", schedule.errors.isEmpty, !schedule.days.isEmpty {
                let count = try await crm.organisation.importCalendar(session.caller, schedule)
                _ = count
                return WebPage.redirect("/organisation?saved=1#calendar")
            }
            if !schedule.errors.isEmpty {
                html += "<div class=\"error\" role=\"alert\" id=\"schedule-errors\"><p>\(s["calendarBadLines"])</p><ul>"
                html += schedule.errors.prefix(50).markup { "<li>\(s["line"]) \($0.line): \($0.message)</li>" } + "</ul></div>"
            }
            html += "<p class=\"muted\">\(s["calendarPreviewHint"]) \(schedule.days.count)</p>"
            html +=
                "<table id=\"schedule-preview\"><thead><tr><th>\(s["day"])</th><th>\(s["kind"])</th><th>\(s["label"])</th></tr></thead><tbody>"
                + schedule.days.markup { "<tr><td>\($0.day)</td><td>\($0.working ? s["makeUpWorkday"] : s["holiday"])</td><td>\($0.name)</td></tr>" }
                + "</tbody></table>"
            html += Self.calendarImportForm(text, canApply: schedule.errors.isEmpty && !schedule.days.isEmpty, s: s)
            return session.page(s["calendarImport"], html)
        }
        pages(router, .admin).post("/organisation/calendar") { request, context in
            let session = try context.session()
            let form = try await request.form(context: context)
            try await crm.organisation.setCalendarDay(session.caller, day: form["day"] ?? "", working: form["kind"] == "workday", name: form["name"] ?? "")
            return WebPage.redirect("/organisation?saved=1#calendar")
        }
    }

    package static func referenceLists(_ lists: [(ReferenceKind, [ReferenceItem])], s: Strings) -> Markup {
        let departments = lists.first { $0.0 == .department }?.1 ?? []
        let departmentNames = Dictionary(departments.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        return lists.map { kind, items -> Markup in
            let key = kind.rawValue
            var columns = [s["code"]]
            if kind == .department { columns.append(s["deptCode"]) }
            if kind == .ward || kind == .staff { columns.append(s["department"]) }
            if kind == .staff { columns.append(s["staffTitle"]) }
            let rows = items.map { item -> Markup in
                var cells = [item.id, item.name]
                if kind == .department { cells.append(item.code ?? "") }
                if kind == .ward || kind == .staff { cells.append(item.departmentId.map { departmentNames[$0] ?? $0 } ?? "") }
                if kind == .staff { cells.append(item.title ?? "") }
                return "<tr>\(cells.map { cell -> Markup in "<td>\(cell)</td>" }.joined())</tr>"
            }
            let head = ([columns[0], s["label"]] + columns.dropFirst()).map { column -> Markup in "<th>\(column)</th>" }
            var fields: Markup = """
                <div><label for="\(key)-id">\(s["code"])</label><input type="text" id="\(key)-id" name="id" required maxlength="40"></div>
                <div><label for="\(key)-name">\(s["label"])</label><input type="text" id="\(key)-name" name="name" required maxlength="100"></div>
                """
            if kind == .department {
                fields += "<div><label for=\"\(key)-code\">\(s["deptCode"])</label><input type=\"text\" id=\"\(key)-code\" name=\"code\" maxlength=\"20\"></div>"
            }
            if kind == .ward || kind == .staff {
                let options = departments.map { department -> Markup in "<option value=\"\(department.id)\">\(department.name)</option>" }
                fields +=
                    "<div><label for=\"\(key)-department\">\(s["department"])</label><select id=\"\(key)-department\" name=\"departmentId\"\(kind == .ward ? " required" : "")><option value=\"\">—</option>\(options.joined())</select></div>"
            }
            if kind == .staff {
                fields += "<div><label for=\"\(key)-title\">\(s["staffTitle"])</label><input type=\"text\" id=\"\(key)-title\" name=\"title\" maxlength=\"40\"></div>"
            }
            let table: Markup =
                items.isEmpty
                ? "<p class=\"muted\">\(s["noRows"])</p>"
                : "<details><summary>\(s["table"])</summary><table class=\"reference\"><thead><tr>\(head.joined())</tr></thead><tbody>\(rows.joined())</tbody></table></details>"
            return """
                <section id="\(key)"><h2>\(s["ref_" + key]) (\(items.count))</h2>
                \(table)
                <form method="post" action="/organisation/reference/\(key)" class="card"><p class="muted">\(s["addOrChange"])</p><div class="grid">\(fields)</div>
                <p><button type="submit" id="save-\(key)">\(s["save"])</button></p></form></section>
                """
        }.joined()
    }

    package static func settingsForm(_ settings: [String: String], s: Strings) -> Markup {
        let fields = editableSettings.map { key, fallback, kind -> Markup in
            let input: Markup =
                switch kind {
                case .number(let range): "type=\"number\" min=\"\(range.lowerBound)\" max=\"\(range.upperBound)\""
                case .text(let maxLength): "type=\"text\" maxlength=\"\(maxLength)\""
                case .time: "type=\"time\""
                case .link: "type=\"url\" maxlength=\"200\" placeholder=\"https://\""
                }
            return
                "<div><label for=\"set-\(key)\">\(s["setting_" + key])</label><input \(input) id=\"set-\(key)\" name=\"\(key)\" value=\"\(settings[key] ?? fallback)\"\(kind.optional ? .empty : " required" as Markup)></div>"
        }
        return """
            <section id="settings"><h2>\(s["systemSettings"])</h2><form method="post" action="/organisation/settings" class="card">
            <div class="grid">\(fields.joined())</div><p><button type="submit" id="save-settings">\(s["save"])</button></p></form></section>
            """
    }

    package static func calendarSection(_ days: [CalendarDay], s: Strings) -> Markup {
        let rows = days.map { day -> Markup in
            "<tr><td>\(day.day)</td><td>\(day.working ? s["makeUpWorkday"] : s["holiday"])</td><td>\(day.name)</td></tr>"
        }
        let table: Markup =
            days.isEmpty
            ? .empty
            : "<table id=\"calendar-days\"><thead><tr><th>\(s["day"])</th><th>\(s["kind"])</th><th>\(s["label"])</th></tr></thead><tbody>\(rows.joined())</tbody></table>"
        return """
            <section id="calendar"><h2>\(s["calendar"])</h2><p class="muted">\(s["calendarHint"])</p>
            \(table)
            <form method="post" action="/organisation/calendar" class="card"><div class="grid">
            <div><label for="cal-day">\(s["day"])</label><input type="date" id="cal-day" name="day" required></div>
            <div><label for="cal-kind">\(s["kind"])</label><select id="cal-kind" name="kind"><option value="holiday">\(s["holiday"])</option><option value="workday">\(s["makeUpWorkday"])</option></select></div>
            <div><label for="cal-name">\(s["label"])</label><input type="text" id="cal-name" name="name" maxlength="40"></div>
            </div><p><button type="submit" id="save-day">\(s["save"])</button></p></form>
            <h3>\(s["calendarImport"])</h3>\(calendarImportForm("", canApply: false, s: s))</section>
            """
    }

    /// A year's schedule pasted in: previewed first, then applied.
    package static func calendarImportForm(_ text: String, canApply: Bool, s: Strings) -> Markup {
        """
        <form method="post" action="/organisation/calendar/import" class="card" id="calendar-import"><p class="muted">\(s["calendarImportHint"])</p>
        <label for="schedule">\(s["calendarSchedule"])</label><textarea id="schedule" name="schedule" rows="8" required>\(text)</textarea>
        <p><button type="submit" name="action" value="preview" class="secondary" id="preview-schedule">\(s["preview"])</button>
        \(canApply ? "<button type=\"submit\" name=\"action\" value=\"apply\" id=\"apply-schedule\">\(s["calendarApply"])</button>" as Markup : .empty)</p></form>
        """
    }
}
