import CRMDomain
import Foundation
import Hummingbird
import Replica

/// The central office: the complaint board and the fleet of nodes.
extension WebUI {
    func addOffice(to router: Router<APIRequestContext>) {
        let crm = self.crm, runtime = self.runtime, configuration = self.configuration
        router.get("/complaints") { request, context in
            let session = try await session(request, context, .manager, .agent, .admin)
            let (open, departments) = try await blocking {
                (try crm.complaints(session.caller, status: nil, page: PageRequest(limit: 500)).items, try crm.references(.department))
            }
            let names = Dictionary(departments.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
            return session.page(session.strings["office"], Self.board(open, departmentNames: names, canAdvance: true, s: session.strings))
        }
        router.post("/complaints/:id/advance") { request, context in
            let session = try await session(request, context, .manager, .agent)
            let id = try context.parameters.id()
            let form = try await request.form(context: context)
            guard let status = form["status"].flatMap(ComplaintStatus.init(rawValue:)) else { throw CRMError(.invalid, "choose a stage") }
            try await blocking { try crm.advanceComplaint(session.caller, id: id, to: status, note: form["note"] ?? "", resolution: form["resolution"]) }
            return WebPage.redirect("/complaints")
        }
        router.get("/fleet") { request, context in
            let session = try await session(request, context, .manager, .admin)
            return session.page(session.strings["fleet"], Self.fleet(session.node, canRevoke: session.caller.role == .admin && configuration.role == "central", s: session.strings))
        }
        router.post("/fleet/:node/revoke") { request, context in
            let session = try await session(request, context, .admin)
            guard configuration.role == "central" else { throw CRMError(.forbidden, "only central revokes nodes") }
            let node = try context.parameters.id("node")
            guard let id = NodeID(hex: node) else { throw CRMError(.invalid, "not a node id") }
            try await blocking {
                let name = try runtime.peers.peers().first { $0.nodeId == node }?.name
                try runtime.replica.write { tx in
                    try tx.insert(into: "revokedNode", values: ["name": name, "revokedAt": crm.time.timestamp(Date()), "revokedBy": session.caller.userId], id: id.description)
                }
            }
            return WebPage.redirect("/fleet")
        }
    }

    static func board(_ complaints: [Complaint], departmentNames: [String: String], canAdvance: Bool, s: Strings) -> String {
        let stages = ComplaintStatus.allCases.filter { $0 != .closed }
        return "<div class=\"board\" id=\"board\">" + stages.map { stage in
            let cards = complaints.filter { $0.status == stage }.map { complaint in
                let next = ComplaintStatus.allCases.drop { $0 <= stage }
                let form = canAdvance ? """
                    <form method="post" action="/complaints/\(HTML.urlComponent(complaint.id))/advance">
                    <label for="s-\(e(complaint.id))" class="muted">\(s["advance"])</label>
                    <select id="s-\(e(complaint.id))" name="status">\(next.map { "<option value=\"\($0.rawValue)\">\(s[$0.rawValue])</option>" }.joined())</select>
                    <label for="t-\(e(complaint.id))" class="muted">\(s["note"])</label><input type="text" id="t-\(e(complaint.id))" name="note" required>
                    <p><button type="submit" class="secondary">\(s["advance"])</button></p></form>
                    """ : ""
                return """
                    <article data-complaint="\(e(complaint.id))"><p>\(e(complaint.summary))</p>
                    <p class="\(complaint.overdue ? "overdue" : "muted")">\(s["deadline"]) \(e(complaint.deadline))\(complaint.overdue ? " · \(s["overdue"])" : "")</p>
                    <p class="muted">\(e(complaint.departmentId.map { departmentNames[$0] ?? $0 }))</p>\(form)</article>
                    """
            }.joined()
            return "<section aria-label=\"\(s[stage.rawValue])\"><h2>\(s[stage.rawValue]) (\(complaints.filter { $0.status == stage }.count))</h2>\(cards)</section>"
        }.joined() + "</div>"
    }

    static func fleet(_ node: NodeStatusReport, canRevoke: Bool, s: Strings) -> String {
        var html = "<p>\(e(node.name)) · \(e(node.role)) · \(e(node.nodeId))</p>"
        guard !node.peers.isEmpty else { return html + "<p class=\"muted\">\(s["noRows"])</p>" }
        html += "<table id=\"fleet\"><thead><tr><th>\(s["name"])</th><th>\(s["lastContact"])</th><th>\(s["pendingOut"])</th><th>\(s["pendingIn"])</th><th>\(s["lag"])</th><th></th></tr></thead><tbody>"
        for peer in node.peers {
            let revoke = canRevoke ? "<form method=\"post\" action=\"/fleet/\(HTML.urlComponent(peer.nodeId))/revoke\"><button type=\"submit\" class=\"danger\">\(s["revoke"])</button></form>" : ""
            html += """
                <tr><td>\(e(peer.name)) <span class="link \(peer.connected ? "up" : "down")">\(peer.connected ? s["connected"] : s["disconnected"])</span></td>
                <td>\(String(format: "%.0f s", Double(peer.lastContactMsAgo) / 1000))</td><td>\(peer.pendingOut)</td><td>\(peer.pendingIn)</td>
                <td>\(peer.lagMs.map { String(format: "%.1f s", Double($0) / 1000) } ?? "–")</td><td>\(revoke)</td></tr>
                """
        }
        return html + "</tbody></table>"
    }
}
