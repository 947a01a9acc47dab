import Foundation
import GRDB
import Replica

/// An admission (inpatient) or an outpatient visit, from the HIS or typed in.
public struct Encounter: Codable, Sendable, Hashable {
    public var id: String
    public var patientId: String
    public var kind: String
    public var departmentId: String?
    public var wardId: String?
    public var doctorId: String?
    public var diagnosisCode: String?
    public var admittedAt: String
    public var dischargedAt: String?
    public var dischargeStatus: String?
    public var cancelled: Bool
    /// The bed number (床号) while admitted.
    public var bed: String?

    /// Fail-soft: the policy declares `patientId`, `kind` and `admittedAt` not null, and a row
    /// from before that (or from a peer that broke it) reads as empty rather than trapping.
    init(row: Row) {
        id = row["id"]
        patientId = row["patientId"] ?? ""
        kind = row["kind"] ?? ""
        departmentId = row["departmentId"]
        wardId = row["wardId"]
        doctorId = row["doctorId"]
        diagnosisCode = row["diagnosisCode"]
        admittedAt = row["admittedAt"] ?? ""
        dischargedAt = row["dischargedAt"]
        dischargeStatus = row["dischargeStatus"]
        cancelled = (row["cancelled"] as Int?) == 1
        bed = row["bed"]
    }

    /// inpatient | discharged | outpatient, for rule filters.
    public var patientStatus: String {
        kind == "outpatient" ? "outpatient" : (dischargedAt == nil ? "inpatient" : "discharged")
    }
}

/// An admission or visit to record.
public struct EncounterInput: Codable, Sendable {
    public var patientId: String
    /// inpatient | outpatient
    public var kind: String
    public var departmentId: String?
    public var wardId: String?
    public var doctorId: String?
    public var diagnosisCode: String?
    /// ISO-8601; the visit time for an outpatient visit.
    public var admittedAt: String
    /// The HIS's own id: importing the same encounter twice, or on two nodes, gives one row.
    public var hisId: String?
    /// The bed number (床号), 1–20 characters on one line.
    public var bed: String?

    public init(
        patientId: String, kind: String, departmentId: String? = nil, wardId: String? = nil, doctorId: String? = nil,
        diagnosisCode: String? = nil, admittedAt: String, hisId: String? = nil, bed: String? = nil
    ) {
        self.bed = bed
        self.patientId = patientId
        self.kind = kind
        self.departmentId = departmentId
        self.wardId = wardId
        self.doctorId = doctorId
        self.diagnosisCode = diagnosisCode
        self.admittedAt = admittedAt
        self.hisId = hisId
    }
}

/// One step in an encounter's history.
public struct EncounterEvent: Codable, Sendable, Hashable {
    public var id: String
    public var encounterId: String
    public var kind: String
    public var at: String
    public var fromWardId: String?
    public var toWardId: String?
    public var userId: String?
}

/// The discharge statuses (离院方式) the HIS reports.
public enum DischargeStatus: String, Codable, CaseIterable, Sendable {
    case cured, improved, unchanged, died, transferred
}
