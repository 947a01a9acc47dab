import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime

extension WebUI {
    /// What patients texted back: agents and managers answer them (a TD reply opts out by itself).
    package func addSMSReplies(to router: Router<APIRequestContext>) {
        let crm = self.crm
        pages(router, .agent, .manager, .admin).get("/sms/replies") { request, context in
            let session = try context.session()
            let replies = try await crm.sms.inbound(session.caller, page: try request.pageRequest())
            let s = session.strings
            var html: Markup = .empty
            if replies.items.isEmpty {
                html += "<p>\(s["smsNoReplies"])</p>"
            } else {
                html +=
                    "<table id=\"sms-replies\"><thead><tr><th>\(s["smsReceived"])</th><th>\(s["smsFrom"])</th><th>\(s["smsText"])</th><th>\(s["patients"])</th></tr></thead><tbody>"
                html += replies.items.markup { reply in
                    let archives = reply.patientIds.markup { "<a href=\"/patients/\(HTML.urlComponent($0))\">\($0)</a> " }
                    return """
                        <tr><td>\(reply.receivedAt)</td><td>\(reply.phone)\(reply.optedOut ? " (\(s["smsOptedOut"]))" : "")</td><td>\(reply.body)</td><td>\(archives)</td></tr>
                        """
                }
                html += "</tbody></table>"
                if let next = replies.next { html += "<p><a href=\"/sms/replies?after=\(HTML.urlComponent(next))\">→</a></p>" }
            }
            return session.page(s["smsReplies"], html)
        }
    }
}
