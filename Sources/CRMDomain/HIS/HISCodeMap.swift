import Foundation
import GRDB

/// What an HIS code names in Suifang.
public enum HISCodeKind: String, CaseIterable, Codable, Sendable {
    /// PV1-3.1, a nursing unit → a ward id.
    case ward
    /// PV1-10, a hospital service → a department id.
    case department
    /// PV1-7.1, an attending doctor → a staff id.
    case doctor
    /// PV1-36, a discharge disposition → a discharge status (cured, improved, unchanged, died, transferred).
    case disposition
}

/// One entry of the code map: HIS code `code` of `kind` means Suifang's `targetId`.
public struct HISCode: Codable, Sendable, Hashable {
    public var kind: HISCodeKind
    public var code: String
    public var targetId: String

    public init(kind: HISCodeKind, code: String, targetId: String) {
        self.kind = kind
        self.code = code
        self.targetId = targetId
    }
}

/// The code map, in the node's local table `crm_his_code`: what the admin set on the HIS page.
/// Codes the map lacks fall back to what Suifang already knows: a department whose `code` is the
/// HIS code, HL7 table 0112's dispositions, and Suifang's own discharge statuses by name.
enum HISCodeMap {
    static func lookup(_ db: Database, _ kind: HISCodeKind, _ code: String) throws -> String? {
        if let mapped = try String.fetchOne(db.cachedStatement(sql: "SELECT targetId FROM crm_his_code WHERE kind = ? AND code = ?"), arguments: [kind.rawValue, code]) {
            return mapped
        }
        switch kind {
        case .department:
            return try String.fetchOne(db.cachedStatement(sql: "SELECT id FROM department WHERE code = ? ORDER BY id LIMIT 1"), arguments: [code])
        case .disposition:
            return defaultDisposition(code)?.rawValue
        case .ward, .doctor:
            return nil
        }
    }

    /// HL7 table 0112 (discharge disposition) where it says enough, and Suifang's own names.
    static func defaultDisposition(_ code: String) -> DischargeStatus? {
        if let own = DischargeStatus(rawValue: code.lowercased()) { return own }
        switch code {
        case "01": return .improved  // discharged to home or self care
        case "20", "40", "41", "42": return .died  // expired (at home, in a facility, place unknown)
        case "02", "03", "05", "43", "61", "62", "63", "65", "66": return .transferred  // to another facility
        default: return nil
        }
    }

    /// Checks that `targetId` exists for `kind` (a ward, department or staff member; a status name).
    static func checkTarget(_ db: Database, _ kind: HISCodeKind, _ targetId: String) throws {
        let table: String
        switch kind {
        case .ward: table = "ward"
        case .department: table = "department"
        case .doctor: table = "staff"
        case .disposition:
            guard DischargeStatus(rawValue: targetId) != nil else {
                throw CRMError.unprocessable("a disposition maps to one of \(DischargeStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return
        }
        guard try Bool.fetchOne(db, sql: "SELECT 1 FROM \(table) WHERE id = ?", arguments: [targetId]) == true else {
            throw CRMError.notFound(kind == .doctor ? "staff member" : table, targetId)
        }
    }

    static func prepare(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE crm_his_code (kind TEXT NOT NULL, code TEXT NOT NULL, targetId TEXT NOT NULL, PRIMARY KEY (kind, code));
                -- Messages applied, by sender and control id: a resent message is acknowledged again, not applied again.
                CREATE TABLE crm_his_message (
                    sender TEXT NOT NULL, controlId TEXT NOT NULL, trigger TEXT NOT NULL, receivedAt TEXT NOT NULL,
                    PRIMARY KEY (sender, controlId));
                CREATE INDEX crm_his_message_received ON crm_his_message (receivedAt);
                -- Messages understood but not applied (AE), kept for an admin to fix the code map and replay.
                CREATE TABLE crm_his_refused (
                    id INTEGER PRIMARY KEY, sender TEXT NOT NULL, controlId TEXT NOT NULL, trigger TEXT NOT NULL,
                    receivedAt TEXT NOT NULL, errorCode TEXT NOT NULL, location TEXT, reason TEXT NOT NULL,
                    message BLOB NOT NULL, state TEXT NOT NULL DEFAULT 'open', resolvedAt TEXT, resolvedBy TEXT,
                    UNIQUE (sender, controlId));
                CREATE INDEX crm_his_refused_state ON crm_his_refused (state, id);
                """)
    }
}
