import Foundation
import GRDB
import Replica

/// Which patients a caller may reach. Agents, managers and administrators reach every patient (the
/// call center and the office work across wards); a bedside visitor reaches only the patients of
/// its ward: those with an encounter in it that is not cancelled and is open, or ended less than the
/// scope window ago (the `setting` row `scopeDays`, default 30: the same rule that decides what a
/// ward node holds). Outside its reach a visitor gets "not found", never the patient's data.
extension CRM {
    /// The days a discharged patient stays in a ward's reach.
    static let defaultScopeDays = 30

    /// Refuses (as not found) a visitor's call about a patient outside its ward.
    func requireReach(_ caller: Caller, patient: String, _ db: Database) throws {
        guard caller.role == .visitor else { return }
        guard let ward = caller.wardId, try isInWard(patient: patient, ward: ward, db) else { throw CRMError.notFound("patient", patient) }
    }

    /// Refuses a visitor's call that names a ward other than its own.
    func requireReach(_ caller: Caller, ward: String?) throws(CRMError) {
        guard caller.role == .visitor else { return }
        guard caller.isOwnWard(ward) else {
            throw CRMError(.forbidden, "a bedside visitor works for its own ward only")
        }
    }

    /// Whether a patient (or a patient merged into it) has an encounter in the ward within the window.
    func isInWard(patient: String, ward: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: """
                SELECT EXISTS (SELECT 1 FROM encounter WHERE patientId = ? AND wardId = ? AND cancelled IS NOT 1
                               AND (dischargedAt IS NULL OR substr(dischargedAt, 1, 10) >= ?))
                """, arguments: [patient, ward, try reachCutoff(db)]) ?? false
    }

    /// The SQL condition (on a patient id column) a visitor's lists are filtered with, and its arguments.
    func reachCondition(_ caller: Caller, patientColumn: String, _ db: Database) throws -> (sql: String, arguments: StatementArguments)? {
        guard caller.role == .visitor else { return nil }
        return (
            """
            EXISTS (SELECT 1 FROM encounter e WHERE e.patientId = \(patientColumn) AND e.wardId = ? AND e.cancelled IS NOT 1
                    AND (e.dischargedAt IS NULL OR substr(e.dischargedAt, 1, 10) >= ?))
            """, [caller.wardId ?? "", try reachCutoff(db)]
        )
    }

    /// `yyyy-MM-dd` of the oldest discharge still in a ward's reach.
    private func reachCutoff(_ db: Database) throws -> String {
        // The window that decides what a ward node holds, so a visitor reaches what its node holds.
        let days = try replica.scopeWindowDays(db) ?? Self.defaultScopeDays
        return time.day(now().addingTimeInterval(-Double(days) * 86_400))
    }
}

extension Patient {
    /// The card as a bedside visitor sees it: the ID number reduced to its first 4 and last 4
    /// characters, the phone to its first 3 and last 4 digits (the ward's work needs neither whole;
    /// the call center and the office see them).
    func masked(for caller: Caller) -> Patient {
        guard caller.role == .visitor else { return self }
        var copy = self
        copy.idNumber = idNumber.map { Self.mask($0, keepFirst: 4, keepLast: 4) }
        copy.phone = phone.map { Self.mask($0, keepFirst: 3, keepLast: 4) }
        copy.contactPhone = contactPhone.map { Self.mask($0, keepFirst: 3, keepLast: 4) }
        return copy
    }

    static func mask(_ text: String, keepFirst: Int, keepLast: Int) -> String {
        let characters = Array(text)
        guard characters.count > keepFirst + keepLast else { return String(repeating: "*", count: characters.count) }
        return String(characters.prefix(keepFirst)) + String(repeating: "*", count: characters.count - keepFirst - keepLast) + String(characters.suffix(keepLast))
    }
}

extension Caller {
    /// Whether `ward` is the caller's own ward, compared byte for byte as SQLite compares ids
    /// (Swift's `==` calls canonically equivalent ids one: "W-\u{212A}1", a Kelvin sign, is not "W-K1").
    func isOwnWard(_ ward: String?) -> Bool {
        wardId?.isSameID(as: ward) == true
    }
}
