import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime
import Replica

/// The central office: the complaint board and the fleet of nodes.
extension WebUI {
    package func addOffice(to router: Router<APIRequestContext>) {
        let crm = self.crm, runtime = self.runtime, configuration = self.configuration
        pages(router, .manager, .agent, .admin).get("/complaints") { request, context in
            let session = try context.session()
            let (open, departments) = await (
                try crm.complaints.board(session.caller, status: nil, page: PageRequest(limit: 500)).items, try crm.organisation.references(.department)
            )
            let names = Dictionary(departments.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
            return session.page(session.strings["office"], Self.board(open, departmentNames: names, canAdvance: true, s: session.strings))
        }
        pages(router, .manager, .agent, .admin).get("/complaints/:id") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let complaint = try await crm.complaints.complaint(id)
            let departments = try await crm.organisation.references(.department)
            var patient: Patient?
            if let patientId = complaint.patientId { patient = try await crm.patients.patient(patientId) }
            let html = Self.complaintDetail(
                complaint, patient: patient, departments: departments,
                canAdvance: session.caller.role != .admin, s: session.strings)
            return session.page("\(session.strings["complaintEvent"]) · \(session.strings[complaint.status.rawValue])", html)
        }
        pages(router, .manager, .agent).post("/complaints/:id/advance") { request, context in
            let session = try context.session()
            let id = try context.parameters.id()
            let form = try await request.form(context: context)
            guard let status = form["status"].flatMap(ComplaintStatus.init(rawValue:)) else { throw CRMError(.invalid, "choose a stage") }
            try await crm.complaints.advance(
                session.caller, id: id, to: status, note: form["note"] ?? "", departmentId: form["departmentId"],
                handlerId: session.caller.userId, resolution: form["resolution"])
            return WebPage.redirect(form["back"] == "detail" ? "/complaints/\(HTML.urlComponent(id))" : "/complaints")
        }
        pages(router, .manager, .admin).get("/fleet") { request, context in
            let session = try context.session()
            return session.page(
                session.strings["fleet"], Self.fleet(session.node, canRevoke: session.caller.role == .admin && runtime.replica.role == .central, s: session.strings))
        }
        pages(router, .admin).post("/fleet/:node/revoke") { request, context in
            let session = try context.session()
            guard runtime.replica.role == .central else { throw CRMError(.forbidden, "only central revokes nodes") }
            let node = try context.parameters.id("node")
            guard let id = NodeID(hex: node) else { throw CRMError(.invalid, "not a node id") }
            let name = try runtime.peers.peers().first { $0.nodeId == node }?.name
            try await crm.organisation.revokeNode(session.caller, id, name: name)
            return WebPage.redirect("/fleet")
        }
    }

    package static func board(_ complaints: [Complaint], departmentNames: [String: String], canAdvance: Bool, s: Strings) -> Markup {
        let stages = ComplaintStatus.allCases.filter { $0 != .closed }
        let columns = stages.map { stage -> Markup in
            let cards = complaints.filter { $0.status == stage }.map { complaint -> Markup in
                let next = ComplaintStatus.allCases.drop { $0 <= stage }
                let options = next.map { status -> Markup in "<option value=\"\(status.rawValue)\">\(s[status.rawValue])</option>" }
                let form: Markup =
                    canAdvance
                    ? """
                    <form method="post" action="/complaints/\(HTML.urlComponent(complaint.id))/advance">
                    <label for="s-\(complaint.id)" class="muted">\(s["advance"])</label>
                    <select id="s-\(complaint.id)" name="status">\(options.joined())</select>
                    <label for="t-\(complaint.id)" class="muted">\(s["note"])</label><input type="text" id="t-\(complaint.id)" name="note" required>
                    <p><button type="submit" class="secondary">\(s["advance"])</button></p></form>
                    """ : .empty
                let overdue: Markup = complaint.overdue ? " · \(s["overdue"])" : .empty
                return """
                    <article data-complaint="\(complaint.id)"><p><a href="/complaints/\(HTML.urlComponent(complaint.id))">\(complaint.summary)</a></p>
                    <p class="\(complaint.overdue ? "overdue" : "muted")">\(s["deadline"]) \(complaint.deadline)\(overdue)</p>
                    <p class="muted">\(complaint.departmentId.map { departmentNames[$0] ?? $0 })</p>\(form)</article>
                    """
            }
            return "<section aria-label=\"\(s[stage.rawValue])\"><h2>\(s[stage.rawValue]) (\(complaints.filter { $0.status == stage }.count))</h2>\(cards.joined())</section>"
        }
        return "<div class=\"board\" id=\"board\">\(columns.joined())</div>"
    }

    /// One complaint: what, who, which department, the deadline, every step's note, and the next step.
    package static func complaintDetail(_ complaint: Complaint, patient: Patient?, departments: [ReferenceItem], canAdvance: Bool, s: Strings) -> Markup {
        let names = Dictionary(departments.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let overdue: Markup = complaint.overdue ? " · \(s["overdue"])" : .empty
        var html: Markup = """
            <div class="card" id="complaint" data-status="\(complaint.status.rawValue)"><p><b>\(s["summary"])</b> \(complaint.summary)</p>
            <p><b>\(s["status"])</b> \(s[complaint.status.rawValue]) · <b>\(s["department"])</b> \(complaint.departmentId.map { names[$0] ?? $0 } ?? "–")
             · <b>\(s["channel"])</b> \(complaint.channel.map { s["channel_" + $0] } ?? "–")</p>
            <p><b>\(s["registeredAt"])</b> \(minute(complaint.registeredAt)) · <span class="\(complaint.overdue ? "overdue" : "")">\(s["deadline"]) \(complaint.deadline)\(overdue)</span></p>
            """
        if let patient {
            html += "<p><b>\(s["name"])</b> <a href=\"/patients/\(HTML.urlComponent(patient.id))\">\(patient.name)</a> \(patient.phone.map(PhoneNumber.masked))</p>"
        }
        if let resolution = complaint.resolution { html += "<p><b>\(s["resolution"])</b> \(resolution)</p>" }
        html += "</div><h2>\(s["steps"])</h2>"
        if complaint.notes.isEmpty {
            html += "<p class=\"muted\">\(s["noRows"])</p>"
        } else {
            let rows = complaint.notes.map { note -> Markup in
                "<tr><td>\(minute(note.at))</td><td>\(ComplaintStatus(rawValue: note.status).map { s[$0.rawValue] } ?? note.status)</td><td>\(note.note)</td><td>\(note.userId)</td></tr>"
            }
            html +=
                "<table id=\"notes\"><thead><tr><th>\(s["when"])</th><th>\(s["status"])</th><th>\(s["note"])</th><th>\(s["who"])</th></tr></thead><tbody>\(rows.joined())</tbody></table>"
        }
        let next = ComplaintStatus.allCases.filter { $0 > complaint.status }
        guard canAdvance, !next.isEmpty else { return html }
        let departmentOptions = departments.map { department -> Markup in
            "<option value=\"\(department.id)\"\(department.id == complaint.departmentId ? " selected" : "")>\(department.name)</option>"
        }
        let stageOptions = next.map { status -> Markup in "<option value=\"\(status.rawValue)\">\(s[status.rawValue])</option>" }
        return html + """
            <form method="post" action="/complaints/\(HTML.urlComponent(complaint.id))/advance" class="card" id="advance-form"><input type="hidden" name="back" value="detail">
            <div class="grid"><div><label for="d-status">\(s["advance"])</label><select id="d-status" name="status">\(stageOptions.joined())</select></div>
            <div><label for="d-department">\(s["responsibleDepartment"])</label><select id="d-department" name="departmentId"><option value="">—</option>\(departmentOptions.joined())</select></div></div>
            <label for="d-note">\(s["note"])</label><textarea id="d-note" name="note" required maxlength="2000"></textarea>
            <label for="d-resolution">\(s["resolution"])</label><textarea id="d-resolution" name="resolution" maxlength="2000"></textarea>
            <p><button type="submit" id="advance">\(s["advance"])</button></p></form>
            """
    }

    /// "12 s ago", "5 min ago", "3 h ago", "2 d ago".
    package static func ago(_ milliseconds: Int64, _ s: Strings) -> String {
        let seconds = max(0, milliseconds / 1000)
        let (value, unit): (Int64, String) =
            switch seconds {
            case ..<120: (seconds, "unit_s")
            case ..<7200: (seconds / 60, "unit_min")
            case ..<172_800: (seconds / 3600, "unit_h")
            default: (seconds / 86400, "unit_d")
            }
        return "\(value) \(s[unit])"
    }

    /// A certificate's expiry as a date, marked when it is less than 30 days away or past.
    static func expiry(_ milliseconds: Int64, _ s: Strings) -> Markup {
        let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        let left = date.timeIntervalSinceNow
        let text = formatter.string(from: date)
        if left < 0 { return "<span class=\"expiry overdue\">\(text) (\(s["certExpired"]))</span>" }
        if left < 30 * 86_400 { return "<span class=\"expiry soon\">\(text) (\(s["certSoon"]))</span>" }
        return "<span class=\"expiry\">\(text)</span>"
    }

    package static func fleet(_ node: NodeLinkStatus, canRevoke: Bool, s: Strings) -> Markup {
        var html: Markup = "<p>\(node.name) · \(node.role) · \(node.nodeId) · \(s["certExpires"]) \(Self.expiry(node.certificateExpiresAt, s))</p>"
        guard !node.peers.isEmpty else { return html + "<p class=\"muted\">\(s["noRows"])</p>" }
        html +=
            "<table id=\"fleet\"><thead><tr><th>\(s["nodeName"])</th><th>\(s["role"])</th><th>\(s["lastContact"])</th><th>\(s["pendingOut"])</th><th>\(s["pendingIn"])</th><th>\(s["lag"])</th><th>\(s["certExpires"])</th><th></th></tr></thead><tbody>"
        for peer in node.peers {
            let revoke: Markup =
                canRevoke
                ? "<form method=\"post\" action=\"/fleet/\(HTML.urlComponent(peer.nodeId))/revoke\" data-confirm=\"\(s["revokeConfirm"])\"><button type=\"submit\" class=\"danger\">\(s["revoke"])</button></form>"
                : .empty
            html += """
                <tr><td>\(peer.name) <span class="link \(peer.connected ? "up" : "down")">\(peer.connected ? s["connected"] : s["disconnected"])</span></td>
                <td>\(peer.role.map { s["node_" + $0] } ?? "–")</td><td>\(Self.ago(peer.lastContactMsAgo, s))</td><td>\(peer.pendingOut)</td><td>\(peer.pendingIn)</td>
                <td>\(peer.lagMs.map { String(format: "%.1f s", Double($0) / 1000) } ?? "–")</td>
                <td>\(peer.certificateExpiresAt.map { Self.expiry($0, s) } ?? "–")</td><td>\(revoke)</td></tr>
                """
        }
        return html + "</tbody></table>"
    }
}
