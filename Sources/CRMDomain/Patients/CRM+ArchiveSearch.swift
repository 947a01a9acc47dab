import Foundation
import GRDB
import Replica

/// What an archive search asks: the card's text (name prefix, phone or ID number), the contact
/// person, the stays (department, ward, doctor, diagnosis, dates, status, bed) and the opinions in
/// the history. Every criterion given must hold; a stay criterion holds when one stay meets all of them.
public struct ArchiveQuery: Codable, Sendable, Hashable {
    /// Where a stay stands.
    public enum StayStatus: String, Codable, CaseIterable, Sendable {
        /// Admitted and not discharged.
        case admitted
        case discharged
        /// Discharged as died.
        case died
        case outpatient
    }

    public var text: String?
    /// A contact person's name prefix, or their phone number.
    public var contact: String?
    public var departmentId: String?
    public var wardId: String?
    public var doctorId: String?
    /// An ICD-10 code prefix (`I21` finds I21.0 and I21.9).
    public var diagnosis: String?
    /// Admission (or visit) day range, yyyy-MM-dd, both ends included.
    public var admittedFrom: String?
    public var admittedTo: String?
    public var dischargedFrom: String?
    public var dischargedTo: String?
    public var status: StayStatus?
    public var bed: String?
    /// Has an opinion of this kind in the history.
    public var opinion: OpinionInput.Kind?

    public init(
        text: String? = nil, contact: String? = nil, departmentId: String? = nil, wardId: String? = nil, doctorId: String? = nil,
        diagnosis: String? = nil, admittedFrom: String? = nil, admittedTo: String? = nil, dischargedFrom: String? = nil,
        dischargedTo: String? = nil, status: StayStatus? = nil, bed: String? = nil, opinion: OpinionInput.Kind? = nil
    ) {
        self.text = text
        self.contact = contact
        self.departmentId = departmentId
        self.wardId = wardId
        self.doctorId = doctorId
        self.diagnosis = diagnosis
        self.admittedFrom = admittedFrom
        self.admittedTo = admittedTo
        self.dischargedFrom = dischargedFrom
        self.dischargedTo = dischargedTo
        self.status = status
        self.bed = bed
        self.opinion = opinion
    }

    /// Whether nothing is asked (the page then lists nothing rather than every archive).
    public var isEmpty: Bool {
        var others = self
        others.text = nil
        return others == ArchiveQuery() && (text ?? "").trimmingCharacters(in: .whitespaces).isEmpty
    }

    /// The stay conditions as SQL over `encounter e`, with their arguments; nil when none is asked.
    func stayCondition(_ time: LocalTime) throws(CRMError) -> (sql: String, arguments: StatementArguments)? {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        for (name, value) in [("departmentId", departmentId), ("wardId", wardId), ("doctorId", doctorId), ("bed", bed)] {
            guard let value else { continue }
            guard value.count <= 40 else { throw .invalid("\(name) must be at most 40 characters") }
            conditions.append("e.\(name) = ?")
            arguments += [value]
        }
        if let diagnosis {
            guard (1...20).contains(diagnosis.count) else { throw .invalid("diagnosis must be 1–20 characters") }
            conditions.append("e.diagnosisCode >= ? AND e.diagnosisCode < ?")
            arguments += [diagnosis.uppercased(), diagnosis.uppercased() + "\u{10FFFF}"]
        }
        for (name, column, from, to) in [("admitted", "admittedAt", admittedFrom, admittedTo), ("discharged", "dischargedAt", dischargedFrom, dischargedTo)] {
            if let from {
                guard time.isDay(from) else { throw .invalid("\(name)From must be yyyy-MM-dd") }
                conditions.append("e.\(column) >= ?")
                arguments += [from]
            }
            if let to {
                guard time.isDay(to) else { throw .invalid("\(name)To must be yyyy-MM-dd") }
                conditions.append("e.\(column) < ?")
                arguments += [to + "T99"]
            }
        }
        switch status {
        case .admitted: conditions.append("e.kind = 'inpatient' AND e.dischargedAt IS NULL")
        case .discharged: conditions.append("e.dischargedAt IS NOT NULL")
        case .died: conditions.append("e.dischargeStatus = 'died'")
        case .outpatient: conditions.append("e.kind = 'outpatient'")
        case nil: break
        }
        guard !conditions.isEmpty else { return nil }
        return ("e.cancelled IS NOT 1 AND " + conditions.joined(separator: " AND "), arguments)
    }
}

extension CRM.Patients {
    /// Finds archives meeting every criterion of `query`, within the caller's reach. Merged-away
    /// patients are left out (their survivor is found instead). Ordered by id, paged; audited with
    /// one entry per archive shown, never the criteria (they may be a name or a number).
    public func search(_ caller: Caller, _ query: ArchiveQuery, page: PageRequest) async throws -> Page<Patient> {
        try caller.require(.visitor, .agent, .manager, .admin)
        let text = (query.text ?? "").trimmingCharacters(in: .whitespaces)
        guard text.count <= 50 else { throw CRMError.invalid("query must be at most 50 characters") }
        let contact = query.contact?.trimmingCharacters(in: .whitespaces)
        if let contact, contact.count > 50 { throw CRMError.invalid("contact must be at most 50 characters") }
        let stay = try query.stayCondition(time)
        let found: Page<Patient> = try await read { db in
            let graph = try Self.mergeGraph(db)
            var sql = "SELECT * FROM patient WHERE 1"
            var arguments: StatementArguments = []
            if let reach = try crm.reachCondition(caller, patientColumn: "patient.id", db) {
                sql += " AND " + reach.sql
                arguments += reach.arguments
            }
            if !text.isEmpty {
                if let phone = PhoneNumber.normalize(text), text.count >= 5 {
                    sql += " AND (phone = ? OR idNumber = ?)"
                    arguments += [phone, text.uppercased()]
                } else if ASCIIIdentifier(punctuation: "", length: 6...20).admits(text) {
                    sql += " AND idNumber = ?"
                    arguments += [text.uppercased()]
                } else {
                    sql += " AND name >= ? AND name < ?"
                    arguments += [text, text + "\u{10FFFF}"]
                }
            }
            if let contact, !contact.isEmpty {
                if let phone = PhoneNumber.normalize(contact), contact.count >= 5 {
                    sql += " AND contactPhone = ?"
                    arguments += [phone]
                } else {
                    sql += " AND contactName >= ? AND contactName < ?"
                    arguments += [contact, contact + "\u{10FFFF}"]
                }
            }
            if let stay {
                sql += " AND id IN (SELECT e.patientId FROM encounter e WHERE \(stay.sql))"
                arguments += stay.arguments
            }
            if let opinion = query.opinion {
                sql += " AND id IN (SELECT o.patientId FROM opinion o WHERE o.kind = ?)"
                arguments += [opinion.rawValue]
            }
            if let after = page.after { sql += " AND id > ?"; arguments += [after] }
            sql += " ORDER BY id"
            // Each result with the card id it was found by: the next page starts after that one.
            var found: [(patient: Patient, scanned: String)] = []
            var shown = Set<String>()
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try cursor.next() {
                var patient = Patient(row: row)
                let scanned = patient.id
                if graph.isMergedAway(patient.id) {
                    // A merged-away card (or its stays) matched: the archive it lives on is the answer.
                    // A visitor's reach was checked on this card only, so a visitor gets neither.
                    guard caller.role != .visitor,
                        let survivor = try Row.fetchOne(db, sql: "SELECT * FROM patient WHERE id = ?", arguments: [graph.root(of: patient.id)])
                    else { continue }
                    patient = Patient(row: survivor)
                }
                guard shown.insert(patient.id).inserted else { continue }
                found.append((patient.masked(for: caller), scanned))
                if found.count > page.limit { break }
            }
            guard found.count > page.limit else { return Page(items: found.map(\.patient), next: nil) }
            let kept = found.prefix(page.limit)
            return Page(items: kept.map(\.patient), next: kept.last?.scanned)
        }
        try await crm.auditEvents(caller, "patient.search", "patient", found.items.map(\.id))
        return found
    }
}
