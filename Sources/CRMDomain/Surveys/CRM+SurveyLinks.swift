import Foundation
import GRDB
import Replica
import Sodium

/// Surveys patients answer themselves from a link in an SMS (mode `sms`). A group send or an SMS
/// rule whose text holds `{surveyLink}` queues, with each message, an invitation keyed by the
/// message's id; when the SMS node hands the message to the gateway it writes the link in:
/// `surveyLinkBase/s/<message id>.<MAC>`. The MAC is keyed with a secret of that node's own
/// (`crm_link_key`, never replicated), so the token is in no replica and no log, only in the text
/// the patient got, and only the node that sent it opens it. One response per invitation.
extension CRM.Surveys {
    /// The placeholder an SMS template puts its survey link at.
    public static let linkPlaceholder = "{surveyLink}"
    /// How long a link opens its survey (setting `surveyLinkDays`).
    public static let defaultLinkDays = 7
    /// The MAC's length in the token (128 bits).
    static let linkMACBytes = 16

    /// What a link opens.
    public struct Invitation: Sendable {
        public enum State: Sendable { case open, answered, expired }
        public var state: State
        /// The survey's current version.
        public var template: SurveyTemplate
        /// The hospital's name (setting `hospitalName`), for the page's heading.
        public var hospital: String
    }

    /// Queues the invitation the link in message `messageId` opens, in the transaction that queues
    /// the message; it opens for `days` from `from` (the message's scheduled time) or from now.
    func invite(
        _ tx: ReplicaTransaction, messageId: String, patientId: String, templateId: String, departmentId: String?, wardId: String?, taskId: String?,
        days: Int, from: String? = nil
    ) throws {
        guard try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM surveyTemplate WHERE id = ?", arguments: [templateId]) == true else {
            throw CRMError.notFound("survey template", templateId)
        }
        let start = max(crm.now(), from.flatMap(time.parseTimestamp) ?? crm.now())
        let expires = time.timestamp(start.addingTimeInterval(Double(min(max(days, 1), 90)) * 86_400))
        try tx.upsert(
            SurveyInvitationRecord(
                id: messageId, patientId: patientId, templateId: templateId, departmentId: departmentId, wardId: wardId, taskId: taskId,
                expiresAt: expires, createdAt: timestamp()))
    }

    /// The link of message `id`'s invitation, as the SMS carries it.
    /// - Throws: `unprocessable` without a `surveyLinkBase` setting (`https://…`) or an invitation.
    public func link(forMessage id: String) async throws -> String {
        let (base, invited) = try await read { db in
            (
                try String.fetchOne(db, sql: "SELECT value FROM setting WHERE id = 'surveyLinkBase'"),
                try Bool.fetchOne(db, sql: "SELECT 1 FROM surveyInvitation WHERE id = ?", arguments: [id]) ?? false
            )
        }
        guard invited else { throw CRMError.unprocessable("no survey invitation for this message") }
        guard let base, base.hasPrefix("https://") || base.hasPrefix("http://"), base.count <= 200, !base.contains(where: \.isWhitespace) else {
            throw CRMError.unprocessable("set surveyLinkBase (the address patients reach this node at, https://…) to send survey links")
        }
        let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
        return trimmed + "/s/" + (try await token(forMessage: id))
    }

    /// `<message id>.<MAC>`.
    func token(forMessage id: String) async throws -> String {
        id + "." + Self.base64URL(Array(Sodium.mac(key: try await linkKey(), [Array(id.utf8)]).prefix(Self.linkMACBytes)))
    }

    /// The message id a token names, if its MAC is this node's.
    func messageID(ofToken token: String) async throws -> String? {
        guard token.utf8.count <= 160, let dot = token.lastIndex(of: ".") else { return nil }
        let id = String(token[..<dot])
        guard !id.isEmpty, ASCIIIdentifier(punctuation: "_-~", length: 1...120).admits(id) else { return nil }
        let expected = Array(Sodium.mac(key: try await linkKey(), [Array(id.utf8)]).prefix(Self.linkMACBytes))
        let given = Array(Self.base64URL(expected).utf8), presented = Array(token[token.index(after: dot)...].utf8)
        guard given.count == presented.count else { return nil }
        // Compared in constant time: how far a guess matches tells nothing.
        return zip(given, presented).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0 ? id : nil
    }

    /// What the link `token` opens. - Throws: `notFound` for a token this node did not make.
    public func invitation(token: String) async throws -> Invitation {
        guard let id = try await messageID(ofToken: token) else { throw CRMError.notFound("survey link", "") }
        let now = timestamp()
        let found = try await read { db -> (templateId: String, state: Invitation.State, hospital: String)? in
            guard let row = try Row.fetchOne(db, sql: "SELECT templateId, expiresAt, responseId FROM surveyInvitation WHERE id = ?", arguments: [id]) else {
                return nil
            }
            let state: Invitation.State =
                (row["responseId"] as String?) != nil ? .answered : ((row["expiresAt"] as String?) ?? "") < now ? .expired : .open
            return (row["templateId"] ?? "", state, try String.fetchOne(db, sql: "SELECT value FROM setting WHERE id = 'hospitalName'") ?? "")
        }
        guard let found else { throw CRMError.notFound("survey link", "") }
        return Invitation(state: found.state, template: try await template(found.templateId), hospital: found.hospital)
    }

    /// The patient's answers through the link: recorded once, mode `sms`, for the invitation's
    /// patient, department and ward. A second answer, or one after the link expired, is refused.
    public func answer(token: String, templateVersion: Int, answers: [String: JSONValue], opinion: OpinionInput?) async throws -> SubmissionReceipt {
        guard let id = try await messageID(ofToken: token) else { throw CRMError.notFound("survey link", "") }
        let now = timestamp()
        return try await replica.write { tx in
            guard let row = try Row.fetchOne(tx.db, sql: "SELECT * FROM surveyInvitation WHERE id = ?", arguments: [id]) else {
                throw CRMError.notFound("survey link", "")
            }
            guard (row["responseId"] as String?) == nil else { throw CRMError.conflict("this survey was already answered") }
            guard (row["expiresAt"] as String? ?? "") >= now else { throw CRMError.conflict("this link has expired") }
            var opinions: [OpinionInput] = []
            if var opinion {
                opinion.departmentId = row["departmentId"]
                opinions.append(opinion)
            }
            let receipt = try submit(
                tx, .system,
                SurveySubmission(
                    id: DerivedID.make("link", id), templateId: row["templateId"], templateVersion: templateVersion, patientId: row["patientId"],
                    wardId: row["wardId"], departmentId: row["departmentId"], mode: .sms, staffId: "sms-link", taskId: row["taskId"], submittedAt: now,
                    answers: answers, opinions: opinions))
            try tx.update(SurveyInvitationRecord.self, id: id, [.responseId: receipt.id])
            return receipt
        }
    }

    /// This node's link key, made on first use.
    private func linkKey() async throws -> [UInt8] {
        if let key = try await read({ db in try Data.fetchOne(db, sql: "SELECT key FROM crm_link_key WHERE id = 1") }), key.count == 32 { return Array(key) }
        return try await replica.writeLocal { db in
            if let key = try Data.fetchOne(db, sql: "SELECT key FROM crm_link_key WHERE id = 1"), key.count == 32 { return Array(key) }
            let key = Sodium.randomBytes(32)
            try db.execute(sql: "INSERT OR REPLACE INTO crm_link_key (id, key) VALUES (1, ?)", arguments: [Data(key)])
            return key
        }
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
