import Foundation
import GRDB
import Replica

extension CRM.Encounters {
    /// Records an admission or an outpatient visit and produces its tasks: the bedside visit due
    /// within 24 h of an admission, and the tasks of every active rule triggered by it.
    /// With a `hisId`, recording the same encounter again changes nothing and returns its id.
    @discardableResult
    public func record(_ caller: Caller, _ input: EncounterInput) async throws -> String {
        if caller != .system { try caller.require(.visitor, .agent, .manager, .admin) }
        return try await change(caller, "encounter.record", "encounter") { tx in
            let id = try record(tx, caller, input)
            return (id, id)
        }
    }

    /// ``record(_:_:)`` inside a transaction (imports run many in one).
    func record(_ tx: ReplicaTransaction, _ caller: Caller, _ input: EncounterInput) throws -> String {
        guard ["inpatient", "outpatient"].contains(input.kind) else { throw CRMError.invalid("kind must be inpatient or outpatient") }
        guard let admittedAt = time.normalizedTimestamp(input.admittedAt) else { throw CRMError.invalid("admittedAt must be an ISO-8601 date-time") }
        if input.kind == "inpatient", input.wardId == nil { throw CRMError.unprocessable("an admission needs a wardId") }
        let bed = try Self.checkedBed(input.bed)
        if let hisId = input.hisId, !ASCIIIdentifier.hisCode.admits(hisId) {
            throw CRMError.invalid("hisId must be 1–40 of A-Z, a-z, 0-9, '.', '_' or '-'")
        }
        if let hisId = input.hisId, let existing = try Self.encounterID(tx.db, hisId: hisId, wardId: input.wardId, recordedBy: nodeID) { return existing }
        let id = input.hisId.map { Self.encounterID(hisId: $0, wardId: input.wardId) }
        guard try Bool.fetchOne(tx.db.cachedStatement(sql: "SELECT 1 FROM patient WHERE id = ?"), arguments: [input.patientId]) == true else {
            throw CRMError.notFound("patient", input.patientId)
        }
        try Self.checkReferences(tx.db, departmentId: input.departmentId, wardId: input.wardId)
        if caller.role == .visitor {
            // A visitor admits into its own ward, and only a patient of its ward or one with no
            // encounter yet (registered at the bedside): admitting would otherwise pull any archive in.
            try crm.requireReach(caller, ward: input.wardId)
            let known = try Bool.fetchOne(tx.db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM encounter WHERE patientId = ?)"), arguments: [input.patientId]) ?? false
            if known { try crm.requireReach(caller, patient: input.patientId, tx.db) }
        }
        let encounterID = try tx.insert(
            EncounterRecord(
                id: id, patientId: input.patientId, kind: input.kind, departmentId: input.departmentId, wardId: input.wardId, doctorId: input.doctorId,
                diagnosisCode: input.diagnosisCode, admittedAt: admittedAt, cancelled: 0, bed: bed))
        try recordEvent(tx, caller, encounterID, input.patientId, input.kind == "inpatient" ? "admitted" : "visited", at: admittedAt, to: input.wardId)
        let encounter = try Self.encounter(tx.db, encounterID)
        try crm.followUps.produceTasks(tx, for: encounter, trigger: input.kind == "inpatient" ? .admission : .visit, at: admittedAt)
        return encounterID
    }

    /// The id of the encounter HIS numbers `hisId`: `his-<hisId>`, bound to the admission's ward
    /// (``BoundRowID``), so a ward node may create it and no other ward can.
    static func encounterID(hisId: String, wardId: String?) -> String {
        let id = "his-" + hisId
        return wardId.map { BoundRowID.bind(id, toWard: $0) } ?? id
    }

    /// The encounter HIS numbers `hisId` as recorded for `wardId`: bound to that ward, or bound to
    /// another and since transferred into it, or recorded by this node itself (HIS moved the
    /// patient and says so only by the ward it sends now), or unbound (from before bindings).
    /// Another ward node's row that merely carries the number is not it: a ward cannot take over
    /// an admission HIS sends for another ward by recording the number first.
    static func encounterID(_ db: Database, hisId: String, wardId: String?, recordedBy node: String) throws -> String? {
        // Bound ids are `his-<hisId>~<ward>`, and ward ids sort below DEL (0x7F): one index range.
        let id = "his-" + hisId
        // Cached: the HIS feed looks up every message's visit number.
        let candidates = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT e.id, e.wardId, EXISTS (
                        SELECT 1 FROM encounterEvent v WHERE v.encounterId = e.id AND v.kind IN ('admitted', 'visited') AND v.nodeId = ?) AS ours
                    FROM encounter e WHERE e.id = ? OR (e.id > ? AND e.id < ?)
                    """),
            arguments: [node, id, id + String(BoundRowID.separator), id + "\u{7F}"])
        let matching = candidates.compactMap { row -> String? in
            let candidate: String = row["id"]
            let current: String? = row["wardId"]
            let ours = (row["ours"] as Int?) == 1
            guard candidate.isSameID(as: id) || BoundRowID.isBound(candidate, toWard: wardId) || current?.isSameID(as: wardId) == true || ours else { return nil }
            return candidate
        }
        return matching.first { BoundRowID.isBound($0, toWard: wardId) } ?? matching.first
    }

    /// Moves an admitted patient to another ward (and department), into `bed` when given (the old
    /// ward's bed number is cleared either way).
    public func transfer(
        _ caller: Caller, encounterId: String, toWardId: String, toDepartmentId: String?, at: String?, bed: String? = nil
    ) async throws {
        if caller != .system { try caller.require(.visitor, .agent, .manager, .admin) }
        let when =
            try at.map { text throws(CRMError) in
                guard let stamp = time.normalizedTimestamp(text) else { throw .invalid("at must be an ISO-8601 date-time") }
                return stamp
            } ?? timestamp()
        try await change(caller, "encounter.transfer", "encounter") { tx in
            try transfer(tx, caller, encounterId: encounterId, toWardId: toWardId, toDepartmentId: toDepartmentId, at: when, bed: bed)
            return ((), encounterId)
        }
    }

    /// ``transfer(_:encounterId:toWardId:toDepartmentId:at:)`` inside a transaction; `at` is normalised.
    func transfer(
        _ tx: ReplicaTransaction, _ caller: Caller, encounterId: String, toWardId: String, toDepartmentId: String?, at when: String, bed: String? = nil
    ) throws {
        let bed = try Self.checkedBed(bed)
        let encounter = try Self.openAdmission(tx.db, encounterId)
        try crm.requireReach(caller, ward: encounter.wardId)
        try Self.checkReferences(tx.db, departmentId: toDepartmentId, wardId: toWardId)
        var values: [EncounterRecord.Columns: (any DatabaseValueConvertible)?] = [.wardId: toWardId]
        if bed != nil || encounter.bed != nil { values.updateValue(bed, forKey: .bed) }  // nil clears it
        if let toDepartmentId { values[.departmentId] = toDepartmentId }
        try tx.update(EncounterRecord.self, id: encounterId, values)
        try recordEvent(tx, caller, encounterId, encounter.patientId, "transferred", at: when, from: encounter.wardId, to: toWardId)
        for task in try String.fetchAll(
            tx.db.cachedStatement(sql: "SELECT id FROM followUpTask WHERE encounterId = ? AND kind = 'bedside24h' AND doneAt IS NULL"), arguments: [encounterId])
        {
            try tx.update(FollowUpTaskRecord.self, id: task, [.wardId: toWardId])
        }
    }

    /// A bed number as stored: 1–20 characters on one line, or nothing.
    static func checkedBed(_ bed: String?) throws(CRMError) -> String? {
        guard let bed, !bed.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        guard let line = PlainText.line(bed, maximum: 20) else { throw .invalid("bed must be 1–20 characters on one line") }
        return line
    }

    /// Records a discharge and produces the phone call due within 72 h and the rule tasks.
    public func discharge(_ caller: Caller, encounterId: String, at: String, status: DischargeStatus) async throws {
        if caller != .system { try caller.require(.visitor, .agent, .manager, .admin) }
        try await change(caller, "encounter.discharge", "encounter") { tx in
            try discharge(tx, caller, encounterId: encounterId, at: at, status: status)
            return ((), encounterId)
        }
    }

    func discharge(_ tx: ReplicaTransaction, _ caller: Caller, encounterId: String, at: String, status: DischargeStatus) throws {
        guard let when = time.normalizedTimestamp(at) else { throw CRMError.invalid("dischargedAt must be an ISO-8601 date-time") }
        let encounter = try Self.openAdmission(tx.db, encounterId)
        try crm.requireReach(caller, ward: encounter.wardId)
        guard when >= encounter.admittedAt else { throw CRMError.unprocessable("a discharge cannot come before the admission") }
        try tx.update(EncounterRecord.self, id: encounterId, [.dischargedAt: when, .dischargeStatus: status.rawValue])
        try recordEvent(tx, caller, encounterId, encounter.patientId, "discharged", at: when, from: encounter.wardId)
        try crm.followUps.produceTasks(tx, for: try Self.encounter(tx.db, encounterId), trigger: .discharge, at: when)
    }

    /// Cancels a discharge (the HIS withdrew it): the patient is admitted again and the tasks the
    /// discharge produced are withdrawn.
    public func cancelDischarge(_ caller: Caller, encounterId: String) async throws {
        if caller != .system { try caller.require(.manager, .admin, .visitor) }
        try await change(caller, "encounter.cancelDischarge", "encounter") { tx in
            try cancelDischarge(tx, caller, encounterId: encounterId)
            return ((), encounterId)
        }
    }

    func cancelDischarge(_ tx: ReplicaTransaction, _ caller: Caller, encounterId: String) throws {
        let encounter = try Self.encounter(tx.db, encounterId)
        try crm.requireReach(caller, ward: encounter.wardId)
        guard !encounter.cancelled else { throw CRMError.conflict("encounter '\(encounterId)' is cancelled") }
        guard encounter.dischargedAt != nil else { throw CRMError.conflict("encounter '\(encounterId)' is not discharged") }
        try tx.update(EncounterRecord.self, id: encounterId, [.dischargedAt: nil, .dischargeStatus: nil])
        try recordEvent(tx, caller, encounterId, encounter.patientId, "dischargeCancelled", at: timestamp())
        try crm.followUps.withdrawTasks(tx, encounterId: encounterId, trigger: .discharge)
    }

    /// Cancels an admission or visit (recorded by mistake): it and every task it produced are withdrawn.
    public func cancel(_ caller: Caller, encounterId: String) async throws {
        if caller != .system { try caller.require(.manager, .admin, .visitor) }
        try await change(caller, "encounter.cancel", "encounter") { tx in
            try cancel(tx, caller, encounterId: encounterId)
            return ((), encounterId)
        }
    }

    func cancel(_ tx: ReplicaTransaction, _ caller: Caller, encounterId: String) throws {
        let encounter = try Self.encounter(tx.db, encounterId)
        try crm.requireReach(caller, ward: encounter.wardId)
        guard !encounter.cancelled else { return }
        try tx.update(EncounterRecord.self, id: encounterId, [.cancelled: 1])
        try recordEvent(tx, caller, encounterId, encounter.patientId, "admissionCancelled", at: timestamp())
        try crm.followUps.withdrawTasks(tx, encounterId: encounterId, trigger: nil)
    }

    /// One encounter.
    public func encounter(_ id: String) async throws -> Encounter {
        try await read { db in try Self.encounter(db, id) }
    }

    /// One encounter, as a caller may see it: a bedside visitor only its own ward's (else not found).
    public func encounter(_ caller: Caller, _ id: String) async throws -> Encounter {
        let encounter = try await encounter(id)
        guard caller.role != .visitor || caller.isOwnWard(encounter.wardId) else { throw CRMError.notFound("encounter", id) }
        return encounter
    }

    /// A ward's admitted patients (not discharged, not cancelled), with whether a bedside visit is due.
    public func wardPatients(_ caller: Caller, wardId: String) async throws -> [WardPatient] {
        try caller.require(.visitor, .manager, .admin)
        if caller.role == .visitor, !caller.isOwnWard(wardId) { throw CRMError(.forbidden, "a bedside visitor sees only its own ward") }
        return try await read { db in
            let graph = try CRM.Patients.mergeGraph(db)
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT e.*, t.id AS taskId, t.dueBy AS taskDueBy, t.doneAt AS taskDoneAt
                    FROM encounter e
                    LEFT JOIN followUpTask t ON t.encounterId = e.id AND t.kind = 'bedside24h' AND t.withdrawn IS NOT 1
                    WHERE e.wardId = ? AND e.kind = 'inpatient' AND e.dischargedAt IS NULL AND e.cancelled IS NOT 1
                    """, arguments: [wardId])
            var result: [WardPatient] = []
            for row in rows {
                let encounter = Encounter(row: row)
                let root = graph.root(of: encounter.patientId)
                guard let patient = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM patient WHERE id = ?"), arguments: [root]).map(Patient.init(row:)) else { continue }
                let due = row["taskId"] != nil && (row["taskDoneAt"] as String?) == nil
                result.append(
                    WardPatient(
                        patient: patient.masked(for: caller), encounter: encounter, bedsideTaskId: row["taskId"], bedsideVisitDue: due,
                        bedsideDueBy: row["taskDueBy"]))
            }
            // Due visits first, soonest deadline first; then by admission.
            return result.sorted {
                if $0.bedsideVisitDue != $1.bedsideVisitDue { return $0.bedsideVisitDue }
                return ($0.bedsideDueBy ?? $0.encounter.admittedAt, $0.encounter.id) < ($1.bedsideDueBy ?? $1.encounter.admittedAt, $1.encounter.id)
            }
        }
    }

    // MARK: - Helpers

    static func encounter(_ db: Database, _ id: String) throws -> Encounter {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM encounter WHERE id = ?"), arguments: [id]) else {
            throw CRMError.notFound("encounter", id)
        }
        return Encounter(row: row)
    }

    static func openAdmission(_ db: Database, _ id: String) throws -> Encounter {
        let encounter = try encounter(db, id)
        guard !encounter.cancelled else { throw CRMError.conflict("encounter '\(id)' is cancelled") }
        guard encounter.kind == "inpatient" else { throw CRMError.conflict("encounter '\(id)' is an outpatient visit") }
        guard encounter.dischargedAt == nil else { throw CRMError.conflict("encounter '\(id)' is already discharged") }
        return encounter
    }

    static func checkReferences(_ db: Database, departmentId: String?, wardId: String?) throws {
        if let departmentId, try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM department WHERE id = ?"), arguments: [departmentId]) != true {
            throw CRMError.notFound("department", departmentId)
        }
        if let wardId, try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM ward WHERE id = ?"), arguments: [wardId]) != true {
            throw CRMError.notFound("ward", wardId)
        }
    }

    func recordEvent(
        _ tx: ReplicaTransaction, _ caller: Caller, _ encounterID: String, _ patientID: String, _ kind: String,
        at: String, from: String? = nil, to: String? = nil
    ) throws {
        try tx.insert(
            EncounterEventRecord(
                encounterId: encounterID, patientId: patientID, kind: kind, at: at, fromWardId: from, toWardId: to, userId: caller.userId, nodeId: nodeID))
    }
}

/// A patient on a ward tablet's list.
public struct WardPatient: Codable, Sendable {
    public var patient: Patient
    public var encounter: Encounter
    public var bedsideTaskId: String?
    public var bedsideVisitDue: Bool
    public var bedsideDueBy: String?
}
