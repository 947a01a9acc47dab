import CRMDomain
import Foundation
import HL7
import Hummingbird
import NodeRuntime

/// The HIS feed (admins): the code map from HIS ward, department, doctor and disposition codes to
/// Suifang's, and the messages that could not be applied, to replay once mapped or to dismiss.
extension WebUI {
    package func addHIS(to router: Router<APIRequestContext>) {
        let crm = self.crm
        pages(router, .admin).get("/his") { request, context in
            let session = try context.session()
            let codes = try await crm.his.codes(session.caller)
            let refused = try await crm.his.refused(session.caller)
            var targets: [HISCodeKind: [ReferenceItem]] = [:]
            targets[.ward] = try await crm.organisation.references(.ward)
            targets[.department] = try await crm.organisation.references(.department)
            targets[.doctor] = try await crm.organisation.references(.staff)
            targets[.disposition] = DischargeStatus.allCases.map { ReferenceItem(id: $0.rawValue, name: $0.rawValue) }
            let flash = request.query("replayed").map { $0 == "AA" ? session.strings["hisReplayed"] : session.strings["hisStillRefused"] }
            return session.page(session.strings["his"], Self.hisPage(codes: codes, refused: refused, targets: targets, s: session.strings), flash: flash)
        }
        pages(router, .admin).post("/his/codes") { request, context in
            let session = try context.session()
            let form = try await request.form(context: context)
            guard let kind = form["kind"].flatMap(HISCodeKind.init(rawValue:)) else { throw CRMError(.invalid, "choose a kind of code") }
            try await crm.his.setCode(session.caller, HISCode(kind: kind, code: form["code"] ?? "", targetId: form["targetId"] ?? ""))
            return WebPage.redirect("/his#codes")
        }
        pages(router, .admin).post("/his/codes/:kind/:code/remove") { request, context in
            let session = try context.session()
            guard let kind = HISCodeKind(rawValue: try context.parameters.id("kind")) else { throw CRMError(.notFound, "no such kind of code") }
            try await crm.his.removeCode(session.caller, kind: kind, code: try context.parameters.id("code"))
            return WebPage.redirect("/his#codes")
        }
        pages(router, .admin).post("/his/refused/:id/replay") { request, context in
            let session = try context.session()
            let receipt = try await crm.his.replay(session.caller, id: try HISRoutes.refusedID(context))
            return WebPage.redirect("/his?replayed=\(receipt.acknowledgement.code.rawValue)#refused")
        }
        pages(router, .admin).post("/his/refused/:id/dismiss") { request, context in
            let session = try context.session()
            try await crm.his.dismiss(session.caller, id: try HISRoutes.refusedID(context))
            return WebPage.redirect("/his#refused")
        }
    }

    package static func hisPage(codes: [HISCode], refused: [HISRefusedMessage], targets: [HISCodeKind: [ReferenceItem]], s: Strings) -> Markup {
        func kindName(_ kind: HISCodeKind) -> String { s["hisKind-\(kind.rawValue)"] }
        func targetName(_ code: HISCode) -> String {
            targets[code.kind]?.first { $0.id == code.targetId }.map { "\($0.name) (\($0.id))" } ?? code.targetId
        }
        var html: Markup = "<p>\(s["hisIntro"])</p>"
        html += "<h2 id=\"refused\">\(s["hisRefused"]) (\(refused.count))</h2>"
        if refused.isEmpty {
            html += "<p>\(s["hisNoRefused"])</p>"
        } else {
            html += """
                <table id="his-refused"><thead><tr><th>\(s["hisReceived"])</th><th>\(s["hisEvent"])</th><th>\(s["hisControlId"])</th>
                <th>\(s["hisSender"])</th><th>\(s["hisReason"])</th><th></th></tr></thead><tbody>
                """
            html += refused.markup { entry in
                """
                <tr><td>\(entry.receivedAt)</td><td>ADT^\(entry.trigger)</td><td>\(entry.controlId)</td><td>\(entry.sender)</td>
                <td>\(entry.errorCode) \(entry.location ?? ""): \(entry.reason)</td>
                <td><form method="post" action="/his/refused/\(String(entry.id))/replay"><button type="submit">\(s["hisReplay"])</button></form>
                <form method="post" action="/his/refused/\(String(entry.id))/dismiss" data-confirm="\(s["hisDismissConfirm"])"><button type="submit" class="danger">\(s["hisDismiss"])</button></form></td></tr>
                """
            }
            html += "</tbody></table>"
        }
        html += """
            <h2 id="codes">\(s["hisCodes"])</h2>
            <table id="his-codes"><thead><tr><th>\(s["kind"])</th><th>\(s["hisCode"])</th><th>\(s["hisTarget"])</th><th></th></tr></thead><tbody>
            """
        html += codes.markup { code in
            """
            <tr><td>\(kindName(code.kind))</td><td>\(code.code)</td><td>\(targetName(code))</td>
            <td><form method="post" action="/his/codes/\(code.kind.rawValue)/\(HTML.urlComponent(code.code))/remove"><button type="submit" class="danger">\(s["hisRemove"])</button></form></td></tr>
            """
        }
        html += "</tbody></table>"
        html += HISCodeKind.allCases.markup { kind in
            """
            <form method="post" action="/his/codes" class="card his-map" id="map-\(kind.rawValue)"><h3>\(s["hisMap"]): \(kindName(kind))</h3>
            <input type="hidden" name="kind" value="\(kind.rawValue)">
            <label for="code-\(kind.rawValue)">\(s["hisCode"])</label><input type="text" id="code-\(kind.rawValue)" name="code" required maxlength="40">
            <label for="target-\(kind.rawValue)">\(s["hisTarget"])</label><select id="target-\(kind.rawValue)" name="targetId">
            \((targets[kind] ?? []).markup { "<option value=\"\($0.id)\">\($0.name) (\($0.id))</option>" })</select>
            <p><button type="submit">\(s["save"])</button></p></form>
            """
        }
        return html
    }
}
