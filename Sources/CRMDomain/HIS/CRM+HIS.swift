import Foundation
import GRDB
import HL7
import Replica

/// What became of one message from the HIS.
public struct HISReceipt: Sendable {
    /// AA, AE or AR, with the error an AE or AR names.
    public var acknowledgement: HL7Acknowledgement
    /// The ACK to send back (UTF-8/ASCII text, unframed).
    public var ack: [UInt8]
    /// MSH-9.2 when the message was read that far (for logs: never patient data).
    public var trigger: String?
    /// MSH-10 as echoed.
    public var controlID: String?
    /// Applied before (same sender and control id): acknowledged again, not applied again.
    public var duplicate = false
    /// Kept in the refused queue for an admin.
    public var queued = false
}

/// A message the HIS sent that could not be applied (AE), waiting for an admin.
public struct HISRefusedMessage: Codable, Sendable, Hashable {
    public var id: Int64
    public var sender: String
    public var controlId: String
    public var trigger: String
    public var receivedAt: String
    /// HL7 table 0357's code (103: an unmapped code, 204: an unknown visit or patient…).
    public var errorCode: String
    public var location: String?
    /// What is wrong, naming codes and fields, never patient data.
    public var reason: String
    /// open, replayed or dismissed.
    public var state: String
    public var resolvedAt: String?
    public var resolvedBy: String?
}

/// Why a message was understood but not applied: becomes an AE and a refused-queue entry.
struct HISRefusal: Error {
    var error: HL7Error
}

extension CRM {
    /// Admissions, transfers, discharges and patient data from the HIS (HL7 v2 ADT), the code map
    /// from HIS codes to Suifang's, and the queue of messages that could not be applied.
    public struct HIS: CRMArea { let crm: CRM }

    public var his: HIS { HIS(crm: self) }
}

extension CRM.HIS {
    /// Who the HIS is in the audit trail and on the records it writes.
    static let caller = Caller(userId: "his", role: .admin)
    /// Refused messages kept at most (open ones); beyond, an AE is still sent but nothing kept.
    static let refusedQueueLimit = 5_000
    /// Applied control ids are remembered this long (a resend comes within minutes or hours).
    static let rememberedDays = 90
    /// The largest message kept in the refused queue; a larger one is listed without its content
    /// (the HIS must send it again once the map is fixed).
    static let largestKeptMessage = 256 * 1024

    /// Reads, applies and acknowledges one message (unframed bytes, in any character set it
    /// declares). AA only after the change is committed; a message applied before is acknowledged
    /// AA again without being applied again.
    public func receive(_ bytes: [UInt8]) async -> HISReceipt {
        await receive([bytes])[0]
    }

    /// Messages that arrived together on one connection (an engine that does not wait for each
    /// ACK), in order: applied in one transaction (one commit, one fsync) and each acknowledged
    /// after it. If any of them cannot be applied, the transaction is rolled back and each is
    /// applied on its own, so one refusal never costs the others their AA.
    public func receive(_ messages: [[UInt8]]) async -> [HISReceipt] {
        var receipts: [HISReceipt] = []
        var readable: [(index: Int, adt: ADTMessage, sender: String)] = []
        let headers = messages.map(HL7RawHeader.init)
        for (index, bytes) in messages.enumerated() {
            let header = headers[index]
            var receipt = HISReceipt(acknowledgement: HL7Acknowledgement(.accept), ack: [], trigger: header.component(9, 2), controlID: header.field(10))
            do {
                let decoded = try HL7Charset.decode(bytes)
                let message = try HL7Parser.parse(decoded.utf8)
                var adt = try ADTMessage(message, localOffsetSeconds: time.timeZone.secondsFromGMT())
                // One key for the applied record and the refused queue: MSH-10 as read raw.
                adt.controlID = header.field(10) ?? adt.controlID
                readable.append((index, adt, Self.sender(header)))
            } catch {
                receipt.acknowledgement = HL7Acknowledgement(.reject, error: error)
            }
            receipts.append(receipt)
        }
        if readable.count > 1, let duplicates = try? await applyTogether(readable.map { ($0.adt, $0.sender) }) {
            for (entry, duplicate) in zip(readable, duplicates) { receipts[entry.index].duplicate = duplicate }
        } else {
            for entry in readable {
                do {
                    receipts[entry.index].duplicate = try await apply(entry.adt, sender: entry.sender)
                } catch let refusal as HISRefusal {
                    receipts[entry.index].acknowledgement = HL7Acknowledgement(.error, error: refusal.error)
                    receipts[entry.index].queued = (try? await queue(messages[entry.index], header: headers[entry.index], refusal.error)) ?? false
                } catch {
                    receipts[entry.index].acknowledgement = HL7Acknowledgement(
                        .error, error: HL7Error(.applicationError, "Suifang could not store the message; send it again"))
                }
            }
        }
        let stamp = ackTimestamp()
        for index in receipts.indices {
            receipts[index].ack = receipts[index].acknowledgement.message(for: headers[index], controlID: Self.ackControlID(), timestamp: stamp)
        }
        return receipts
    }

    /// An AR for bytes that never became a message (too large): built from what its first bytes say.
    public func rejection(of head: [UInt8], _ error: HL7Error) -> [UInt8] {
        HL7Acknowledgement(.reject, error: error).message(
            for: HL7RawHeader(head), controlID: Self.ackControlID(), timestamp: ackTimestamp())
    }

    private func ackTimestamp() -> String {
        HL7Time.stamp(secondsSince1970: Int64(crm.now().timeIntervalSince1970), offsetSeconds: time.timeZone.secondsFromGMT())
    }

    /// Sending application and facility (MSH-3, MSH-4): control ids are unique per sender.
    static func sender(_ header: HL7RawHeader) -> String {
        "\(header.component(3, 1) ?? "")^\(header.component(4, 1) ?? "")"
    }

    static func ackControlID() -> String {
        "SF" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(18)
    }

    /// Applies `adt` in one transaction with the record of its control id. Returns true when the
    /// sender's control id was applied before (nothing done).
    /// - Throws: ``HISRefusal`` when it cannot be applied (the transaction is rolled back).
    func apply(_ adt: ADTMessage, sender: String) async throws -> Bool {
        try await applyTogether([(adt, sender)])[0]
    }

    /// Applies messages in order in one transaction: all or none. Returns, for each, whether its
    /// sender's control id was applied before (nothing done for it).
    func applyTogether(_ messages: [(adt: ADTMessage, sender: String)]) async throws -> [Bool] {
        let receivedAt = timestamp()
        let cutoff = Int.random(in: 0..<1_000) == 0 ? time.timestamp(crm.now().addingTimeInterval(-Double(Self.rememberedDays) * 86_400)) : nil
        return try await replica.write { tx in
            if let cutoff { try tx.db.execute(sql: "DELETE FROM crm_his_message WHERE receivedAt < ?", arguments: [cutoff]) }
            return try messages.map { adt, sender in
                // Inside the writer: two connections may carry the same resend.
                let applied = "SELECT EXISTS (SELECT 1 FROM crm_his_message WHERE sender = ? AND controlId = ?)"
                if try Bool.fetchOne(tx.db.cachedStatement(sql: applied), arguments: [sender, adt.controlID]) ?? false { return true }
                do {
                    try apply(tx, adt)
                } catch let error as CRMError {
                    throw HISRefusal(error: Self.hl7Error(error))
                } catch let error as ReplicaError {
                    throw HISRefusal(error: HL7Error(.applicationError, "the replica refused the change (\(error.code))"))
                }
                // Cached statements: a busy feed runs these for every message.
                try tx.db.cachedStatement(sql: "INSERT INTO crm_his_message (sender, controlId, trigger, receivedAt) VALUES (?, ?, ?, ?)")
                    .execute(arguments: [sender, adt.controlID, adt.trigger.rawValue, receivedAt])
                try tx.db.cachedStatement(
                    sql: "UPDATE crm_his_refused SET state = 'replayed', resolvedAt = ?, resolvedBy = 'his', message = X'' WHERE sender = ? AND controlId = ? AND state = 'open'"
                ).execute(arguments: [receivedAt, sender, adt.controlID])
                try crm.audit(tx, Self.caller, "his.\(adt.trigger.rawValue)", adt.trigger.concernsVisit ? "encounter" : "patient", adt.visit.visitNumber ?? adt.patient.hisId)
                return false
            }
        }
    }

    /// A domain refusal as the HL7 error an AE carries.
    static func hl7Error(_ error: CRMError) -> HL7Error {
        switch error.kind {
        case .notFound: HL7Error(.unknownKey, error.message)
        case .invalid, .unprocessable: HL7Error(.dataType, error.message)
        default: HL7Error(.applicationError, error.message)
        }
    }

    // MARK: - The events

    private func apply(_ tx: ReplicaTransaction, _ adt: ADTMessage) throws {
        let patientID = "his-" + adt.patient.hisId
        let caller = Self.caller
        switch adt.trigger {
        case .admit, .register:
            try upsertPatient(tx, adt.patient, requireName: true)
            let (wardId, departmentId, doctorId) = try mappedLocation(tx.db, adt.visit, wardRequired: adt.visit.inpatient)
            if let number = adt.visit.visitNumber, let existing = try CRM.Encounters.encounterID(tx.db, hisId: number, wardId: wardId, recordedBy: nodeID) {
                // The same admission again (a resend under another id): nothing to do, unless the
                // number now names another patient or an admission that was cancelled.
                let encounter = try CRM.Encounters.encounter(tx.db, existing)
                try requireSamePatient(tx.db, encounter, adt)
                if encounter.cancelled {
                    throw HISRefusal(
                        error: HL7Error(.unknownKey, "this visit number belongs to a cancelled admission: admit under a new visit number", at: "PV1^19"))
                }
                return
            }
            _ = try crm.encounters.record(
                tx, caller,
                EncounterInput(
                    patientId: patientID, kind: adt.visit.inpatient ? "inpatient" : "outpatient", departmentId: departmentId, wardId: wardId,
                    doctorId: doctorId, diagnosisCode: adt.visit.diagnosisCode, admittedAt: adt.visit.admittedAt ?? adt.eventTime,
                    hisId: adt.visit.visitNumber, bed: Self.bed(adt.visit)))
        case .updatePatient, .addPerson, .updatePerson:
            try upsertPatient(tx, adt.patient, requireName: adt.trigger == .addPerson)
        case .transfer, .cancelTransfer:
            // A02 names the new location in PV1-3; A12 the one the patient goes back to.
            let encounter = try visit(tx.db, adt)
            let (wardId, departmentId, _) = try mappedLocation(tx.db, adt.visit, wardRequired: true)
            guard let wardId else { return }
            guard encounter.wardId?.isSameID(as: wardId) != true else {
                // Another bed in the same ward (compared byte for byte: a look-alike ward is another ward).
                if let bed = Self.bed(adt.visit), bed != encounter.bed { try tx.update(EncounterRecord.self, id: encounter.id, [.bed: bed]) }
                return
            }
            try crm.encounters.transfer(
                tx, caller, encounterId: encounter.id, toWardId: wardId, toDepartmentId: departmentId, at: adt.eventTime, bed: Self.bed(adt.visit))
        case .discharge:
            let encounter = try visit(tx.db, adt)
            guard encounter.dischargedAt == nil else { return }  // discharged already: a resend under another id
            let status = try dischargeStatus(tx.db, adt.visit.dispositionCode)
            try crm.encounters.discharge(tx, caller, encounterId: encounter.id, at: adt.visit.dischargedAt ?? adt.eventTime, status: status)
        case .cancelAdmit:
            try crm.encounters.cancel(tx, caller, encounterId: try visit(tx.db, adt).id)
        case .cancelDischarge:
            let encounter = try visit(tx.db, adt)
            guard encounter.dischargedAt != nil else { return }
            try crm.encounters.cancelDischarge(tx, caller, encounterId: encounter.id)
        case .merge:
            let merged = "his-" + (adt.mergedPatientId ?? "")
            let graph = try CRM.Patients.mergeGraph(tx.db)
            if graph.root(of: merged) == graph.root(of: patientID) { return }  // merged already
            _ = try crm.patients.merge(tx, caller, survivorId: patientID, mergedId: merged, reason: "HIS ADT^A40")
        }
    }

    /// PV1-3.3 when Suifang takes it as a bed number; an odd one is left out, not refused.
    private static func bed(_ visit: HISVisit) -> String? {
        (try? CRM.Encounters.checkedBed(visit.bed)) ?? nil
    }

    /// Creates or updates the patient from PID. Optional fields Suifang would refuse (an ID number
    /// that fails its check, an odd phone) are left out rather than refusing the admission.
    private func upsertPatient(_ tx: ReplicaTransaction, _ patient: HISPatient, requireName: Bool) throws {
        let id = "his-" + patient.hisId
        if requireName, patient.name == nil, !(try tx.rowExists("patient", id: id)) {
            throw HISRefusal(error: HL7Error(.requiredFieldMissing, "a new patient needs a name (PID-5)", at: "PID^5"))
        }
        var input = PatientInput(name: patient.name, gender: patient.gender, birthDate: patient.birthDate)
        let optional: [(WritableKeyPath<PatientInput, String?>, String?)] = [
            (\.idNumber, patient.idNumber), (\.phone, patient.phone), (\.address, patient.address),
            (\.contactName, patient.contactName), (\.contactPhone, patient.contactPhone),
        ]
        for (path, value) in optional {
            var alone = PatientInput()
            alone[keyPath: path] = value
            if value != nil, (try? alone.validated(time: time)) != nil { input[keyPath: path] = value }
        }
        do {
            try crm.patients.upsert(tx, id: id, input)
        } catch let error as CRMError where error.refusesInput {
            throw HISRefusal(error: HL7Error(.dataType, error.message, at: "PID"))
        }
    }

    /// The encounter PV1-19 numbers: the one this node recorded from the HIS, else any with the
    /// number (a ward may have recorded it by hand).
    private func visit(_ db: Database, _ adt: ADTMessage) throws -> Encounter {
        let number = adt.visit.visitNumber ?? ""
        let mapped = try adt.visit.wardCode.flatMap { try HISCodeMap.lookup(db, .ward, $0) }
        guard let id = try CRM.Encounters.encounterID(db, hisId: number, wardId: mapped, recordedBy: nodeID) else {
            throw HISRefusal(error: HL7Error(.unknownKey, "no admission or visit has this visit number", at: "PV1^19"))
        }
        let encounter = try CRM.Encounters.encounter(db, id)
        try requireSamePatient(db, encounter, adt)
        if encounter.cancelled, adt.trigger != .cancelAdmit {
            throw HISRefusal(error: HL7Error(.unknownKey, "the admission with this visit number was cancelled", at: "PV1^19"))
        }
        return encounter
    }

    /// Refuses (AE 204) a visit number that names another patient's encounter (compared through
    /// merges): an HIS that reuses numbers must never move, discharge or cancel someone else.
    private func requireSamePatient(_ db: Database, _ encounter: Encounter, _ adt: ADTMessage) throws {
        let graph = try CRM.Patients.mergeGraph(db)
        guard graph.root(of: encounter.patientId) == graph.root(of: "his-" + adt.patient.hisId) else {
            throw HISRefusal(error: HL7Error(.unknownKey, "this visit number belongs to another patient", at: "PV1^19"))
        }
    }

    /// Ward, department and doctor as Suifang ids. An unmapped code refuses the message (AE 103)
    /// with the code named, so an admin can map it and replay.
    private func mappedLocation(_ db: Database, _ visit: HISVisit, wardRequired: Bool) throws -> (String?, String?, String?) {
        func map(_ kind: HISCodeKind, _ code: String?, _ location: String) throws -> String? {
            guard let code else { return nil }
            guard let id = try HISCodeMap.lookup(db, kind, code) else {
                throw HISRefusal(error: HL7Error(.tableValueNotFound, "unmapped \(kind.rawValue) code '\(Self.safe(code))': map it on the HIS page and replay", at: location))
            }
            return id
        }
        let ward = try map(.ward, visit.wardCode, "PV1^3")
        if wardRequired, ward == nil { throw HISRefusal(error: HL7Error(.requiredFieldMissing, "an admission or transfer needs PV1-3 (the ward)", at: "PV1^3")) }
        var department = try map(.department, visit.departmentCode, "PV1^10")
        if department == nil, let ward {
            department = try String.fetchOne(db.cachedStatement(sql: "SELECT departmentId FROM ward WHERE id = ?"), arguments: [ward])
        }
        return (ward, department, try map(.doctor, visit.doctorCode, "PV1^7"))
    }

    private func dischargeStatus(_ db: Database, _ code: String?) throws -> DischargeStatus {
        // An HIS that sends no disposition: the patient left as most do.
        guard let code else { return .improved }
        guard let name = try HISCodeMap.lookup(db, .disposition, code), let status = DischargeStatus(rawValue: name) else {
            throw HISRefusal(error: HL7Error(.tableValueNotFound, "unmapped disposition code '\(Self.safe(code))': map it on the HIS page and replay", at: "PV1^36"))
        }
        return status
    }

    /// A code as it may appear in a message text: short, printable ASCII.
    static func safe(_ code: String) -> String {
        String(code.unicodeScalars.filter { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F && $0 != "'" }.map(Character.init).prefix(20))
    }

    // MARK: - The refused queue

    /// Keeps a refused message for an admin (one entry per sender and control id; a resend
    /// refreshes it). False when the queue is full.
    private func queue(_ bytes: [UInt8], header: HL7RawHeader, _ error: HL7Error) async throws -> Bool {
        let sender = Self.sender(header)
        let controlID = header.field(10) ?? ""
        let trigger = header.component(9, 2) ?? ""
        let now = timestamp()
        let cutoff = time.timestamp(crm.now().addingTimeInterval(-Double(Self.rememberedDays) * 86_400))
        return try await replica.writeLocal { db in
            try db.execute(sql: "DELETE FROM crm_his_message WHERE receivedAt < ?", arguments: [cutoff])
            let open = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM crm_his_refused WHERE state = 'open'")) ?? 0
            let exists = try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM crm_his_refused WHERE sender = ? AND controlId = ?"), arguments: [sender, controlID]) ?? false
            guard exists || open < Self.refusedQueueLimit else { return false }
            let kept = bytes.count <= Self.largestKeptMessage
            let reason = kept ? error.message : error.message + " (message over 256 KiB not kept: the HIS must send it again)"
            try db.execute(
                sql: """
                    INSERT INTO crm_his_refused (sender, controlId, trigger, receivedAt, errorCode, location, reason, message, state)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open')
                    ON CONFLICT (sender, controlId) DO UPDATE SET
                        trigger = excluded.trigger, receivedAt = excluded.receivedAt, errorCode = excluded.errorCode, location = excluded.location,
                        reason = excluded.reason, message = excluded.message, state = 'open', resolvedAt = NULL, resolvedBy = NULL
                    """,
                arguments: [sender, controlID, trigger, now, error.code.rawValue, error.location, reason, kept ? Data(bytes) : Data()])
            return true
        }
    }

    /// Refused messages, newest first (admins).
    public func refused(_ caller: Caller, state: String = "open", limit: Int = 200) async throws -> [HISRefusedMessage] {
        try caller.require(.admin)
        return try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM crm_his_refused WHERE state = ? ORDER BY id DESC LIMIT ?", arguments: [state, max(1, min(limit, 500))]
            ).map { row in
                HISRefusedMessage(
                    id: row["id"], sender: row["sender"], controlId: row["controlId"], trigger: row["trigger"], receivedAt: row["receivedAt"],
                    errorCode: row["errorCode"], location: row["location"], reason: row["reason"], state: row["state"],
                    resolvedAt: row["resolvedAt"], resolvedBy: row["resolvedBy"])
            }
        }
    }

    /// Applies a refused message again (after the code map was fixed): its receipt says how it went.
    public func replay(_ caller: Caller, id: Int64) async throws -> HISReceipt {
        try caller.require(.admin)
        guard
            let bytes = try await read({ db in try Data.fetchOne(db.cachedStatement(sql: "SELECT message FROM crm_his_refused WHERE id = ? AND state = 'open'"), arguments: [id]) })
        else {
            throw CRMError.notFound("refused message", String(id))
        }
        let receipt = await receive(Array(bytes))
        if receipt.acknowledgement.code == .accept {
            try await replica.writeLocal { db in
                try db.execute(sql: "UPDATE crm_his_refused SET resolvedBy = ? WHERE id = ?", arguments: [caller.userId, id])
            }
        }
        try await crm.auditEvent(caller, "his.replay", "hisMessage", String(id))
        return receipt
    }

    /// Sets a refused message aside for good (the HIS will send a correction).
    public func dismiss(_ caller: Caller, id: Int64) async throws {
        try caller.require(.admin)
        let now = timestamp()
        let changed = try await replica.writeLocal { db in
            try db.execute(
                sql: "UPDATE crm_his_refused SET state = 'dismissed', resolvedAt = ?, resolvedBy = ?, message = X'' WHERE id = ? AND state = 'open'",
                arguments: [now, caller.userId, id])
            return db.changesCount
        }
        guard changed == 1 else { throw CRMError.notFound("refused message", String(id)) }
        try await crm.auditEvent(caller, "his.dismiss", "hisMessage", String(id))
    }

    // MARK: - The code map

    /// The code map, by kind and code.
    public func codes(_ caller: Caller) async throws -> [HISCode] {
        try caller.require(.admin, .manager)
        return try await read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT kind, code, targetId FROM crm_his_code ORDER BY kind, code")).compactMap { row in
                HISCodeKind(rawValue: row["kind"]).map { HISCode(kind: $0, code: row["code"], targetId: row["targetId"]) }
            }
        }
    }

    /// Maps an HIS code (admins); the target must exist.
    public func setCode(_ caller: Caller, _ code: HISCode) async throws {
        try caller.require(.admin)
        guard let trimmed = PlainText.line(code.code, maximum: 40) else { throw CRMError.invalid("an HIS code is 1–40 characters on one line") }
        try await replica.writeLocal { db in
            try HISCodeMap.checkTarget(db, code.kind, code.targetId)
            try db.execute(
                sql: "INSERT INTO crm_his_code (kind, code, targetId) VALUES (?, ?, ?) ON CONFLICT (kind, code) DO UPDATE SET targetId = excluded.targetId",
                arguments: [code.kind.rawValue, trimmed, code.targetId])
        }
        try await crm.auditEvent(caller, "his.code.set", "hisCode", "\(code.kind.rawValue):\(Self.safe(trimmed))")
    }

    /// Removes a mapping (admins).
    public func removeCode(_ caller: Caller, kind: HISCodeKind, code: String) async throws {
        try caller.require(.admin)
        let removed = try await replica.writeLocal { db in
            try db.execute(sql: "DELETE FROM crm_his_code WHERE kind = ? AND code = ?", arguments: [kind.rawValue, code])
            return db.changesCount
        }
        guard removed == 1 else { throw CRMError.notFound("HIS code", code) }
        try await crm.auditEvent(caller, "his.code.remove", "hisCode", "\(kind.rawValue):\(Self.safe(code))")
    }
}
