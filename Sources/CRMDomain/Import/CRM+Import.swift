import Foundation
import GRDB
import Replica

/// What an import did. With any rejected line nothing is imported (`applied` false): fix the
/// lines named and import the file again.
public struct ImportReport: Codable, Sendable {
    public struct RejectedLine: Codable, Sendable, Hashable {
        public var line: Int
        public var reason: String
    }
    public var applied: Bool
    public var imported: Int
    public var rejected: [RejectedLine]
}

/// What can be imported and exported as CSV.
public enum CSVDataset: String, Codable, CaseIterable, Sendable {
    case patients, encounters, responses

    /// The columns, in export order; `required` must be in an import's header.
    var columns: [String] {
        switch self {
        case .patients:
            ["hisId", "name", "gender", "birthDate", "idNumber", "phone", "address", "region", "category", "tags", "firstVisit", "contactName", "contactPhone"]
        case .encounters:
            ["hisId", "patientHisId", "kind", "departmentId", "wardId", "doctorId", "diagnosisCode", "admittedAt", "dischargedAt", "dischargeStatus", "bed"]
        case .responses: ["id", "templateId", "templateVersion", "patientHisId", "wardId", "departmentId", "mode", "staffId", "submittedAt", "answers"]
        }
    }

    var required: Set<String> {
        switch self {
        case .patients: ["hisId", "name"]
        case .encounters: ["hisId", "patientHisId", "kind", "admittedAt"]
        case .responses: ["id", "templateId", "templateVersion", "patientHisId", "mode", "submittedAt", "answers"]
        }
    }

    /// The most data lines one file may hold: one import is one commit, and a commit must stay
    /// syncable, within ``Replica/maximumCommitBytes`` (8 MiB). A patient line makes 0.4–1.1 KiB of
    /// commit, an encounter (its stay and follow-up tasks) about 1 KiB: 5,000 lines of rows like a
    /// hospital's leave room; a file of unusually large rows is refused whole, asking to be split.
    public var maximumLines: Int { 5_000 }
}

/// Undoes an import with rejected lines, or a preview, carrying the outcome out of the transaction.
private struct ImportRollback: Error {
    var rejected: [ImportReport.RejectedLine]
    var checked: Int
}

extension CRM.Patients {
    /// Imports a CSV file in one transaction. Every line is checked; if any is rejected, nothing is
    /// kept and the report lists each rejected line with its reason (never its content). Patients
    /// and encounters are keyed by their HIS ids, so importing a file again changes nothing new.
    ///
    /// With `preview`, every line is checked the same way and nothing is kept either way: the report
    /// has `applied` false and `imported` the number of lines an import would take.
    public func importCSV(_ caller: Caller, _ dataset: CSVDataset, text: String, preview: Bool = false) async throws -> ImportReport {
        if caller != .system { try caller.require(.manager, .admin) }
        let records: [CSV.Record]
        do { records = try CSV.parse(text) } catch {
            return ImportReport(applied: false, imported: 0, rejected: [.init(line: error.line, reason: error.problem)])
        }
        guard let header = records.first else { throw CRMError.unprocessable("the file is empty") }
        let columns = header.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        if let unknown = columns.first(where: { !dataset.columns.contains($0) }) {
            throw CRMError.unprocessable("unknown column '\(CRMError.safeID(unknown))'; expected some of: \(dataset.columns.joined(separator: ", "))")
        }
        guard Set(columns).count == columns.count else { throw CRMError.unprocessable("a column appears twice in the header") }
        if let missing = dataset.required.subtracting(columns).sorted().first { throw CRMError.unprocessable("the header lacks the required column '\(missing)'") }
        let lines = records.dropFirst()
        guard lines.count <= dataset.maximumLines else {
            throw CRMError.invalid("at most \(dataset.maximumLines) lines per file; split it")
        }
        do {
            let imported = try await replica.write { tx in
                var rejected: [ImportReport.RejectedLine] = []
                var imported = 0
                var seen = Set<String>()
                for record in lines {
                    guard record.fields.count == columns.count else {
                        rejected.append(.init(line: record.line, reason: "expected \(columns.count) fields, found \(record.fields.count)"))
                        continue
                    }
                    var fields: [String: String] = [:]
                    for (column, value) in zip(columns, record.fields) where !value.isEmpty { fields[column] = value }
                    let key = fields[dataset == .responses ? "id" : "hisId"] ?? ""
                    guard seen.insert(key).inserted else {
                        rejected.append(.init(line: record.line, reason: "the same \(dataset == .responses ? "id" : "hisId") appears earlier in the file"))
                        continue
                    }
                    do {
                        try importLine(tx, caller, dataset, fields)
                        imported += 1
                    } catch let error as CRMError {
                        rejected.append(.init(line: record.line, reason: error.message))
                    } catch let error as ReplicaError {
                        rejected.append(.init(line: record.line, reason: "refused by the replica (\(error.code))"))
                    }
                }
                try crm.audit(tx, caller, "import.\(dataset.rawValue)", "import", "\(imported)")
                if !rejected.isEmpty || preview { throw ImportRollback(rejected: rejected, checked: imported) }
                return imported
            }
            return ImportReport(applied: true, imported: imported, rejected: [])
        } catch let rollback as ImportRollback {
            return ImportReport(applied: false, imported: preview ? rollback.checked : 0, rejected: rollback.rejected)
        }
    }

    private func importLine(_ tx: ReplicaTransaction, _ caller: Caller, _ dataset: CSVDataset, _ fields: [String: String]) throws {
        func patientID(_ his: String?) throws -> String {
            guard let his, ASCIIIdentifier.hisCode.admits(his) else {
                throw CRMError.invalid("patientHisId must be 1–40 of A-Z, a-z, 0-9, '.', '_' or '-'")
            }
            return "his-" + his
        }
        switch dataset {
        case .patients:
            let id = try patientID(fields["hisId"])
            let input = PatientInput(
                name: fields["name"] ?? "", gender: fields["gender"], birthDate: fields["birthDate"], idNumber: fields["idNumber"],
                phone: fields["phone"], address: fields["address"], region: fields["region"], category: fields["category"],
                tags: fields["tags"].map { $0.split(separator: ";").map(String.init) }, firstVisit: fields["firstVisit"],
                contactName: fields["contactName"], contactPhone: fields["contactPhone"])
            try upsert(tx, id: id, input)
        case .encounters:
            let input = EncounterInput(
                patientId: try patientID(fields["patientHisId"]), kind: fields["kind"] ?? "", departmentId: fields["departmentId"],
                wardId: fields["wardId"], doctorId: fields["doctorId"], diagnosisCode: fields["diagnosisCode"],
                admittedAt: fields["admittedAt"] ?? "", hisId: fields["hisId"], bed: fields["bed"])
            let id = try crm.encounters.record(tx, caller, input)
            if let dischargedAt = fields["dischargedAt"] {
                guard let status = fields["dischargeStatus"].flatMap(DischargeStatus.init(rawValue:)) else {
                    throw CRMError.invalid("dischargeStatus must be one of \(DischargeStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                if try CRM.Encounters.encounter(tx.db, id).dischargedAt == nil {
                    try crm.encounters.discharge(tx, caller, encounterId: id, at: dischargedAt, status: status)
                }
            }
        case .responses:
            guard let version = fields["templateVersion"].flatMap(Int.init) else { throw CRMError.invalid("templateVersion must be a number") }
            guard let mode = fields["mode"].flatMap(SurveyMode.init(rawValue:)) else { throw CRMError.invalid("mode must be bedside, phone, sms or kiosk") }
            guard let answers = try? JSONDecoder().decode([String: JSONValue].self, from: Data((fields["answers"] ?? "").utf8)) else {
                throw CRMError.invalid("answers must be a JSON object")
            }
            let submission = SurveySubmission(
                id: fields["id"] ?? "", templateId: fields["templateId"] ?? "", templateVersion: version,
                patientId: try patientID(fields["patientHisId"]), wardId: fields["wardId"], departmentId: fields["departmentId"],
                mode: mode, staffId: fields["staffId"], submittedAt: fields["submittedAt"] ?? "", answers: answers)
            _ = try crm.surveys.submit(tx, caller, submission)
        }
    }

    /// Creates the patient `id` (an HIS-keyed archive) or updates the fields `input` sets.
    func upsert(_ tx: ReplicaTransaction, id: String, _ input: PatientInput) throws {
        let fields = try input.validated(time: time)
        if try tx.rowExists("patient", id: id) {
            let values = fields.changedColumns
            if !values.isEmpty { try tx.update(PatientRecord.self, id: id, values) }
        } else {
            guard input.name != nil else { throw CRMError.invalid("a new patient needs a name") }
            try tx.insert(fields.record(id: id, tags: input.tags ?? [], createdAt: timestamp()))
        }
    }
}
