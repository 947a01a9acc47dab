import Foundation
import GRDB
import Replica

extension CRM.Patients {
    /// Creates a patient's archive and returns its id.
    public func create(_ caller: Caller, _ input: PatientInput) async throws -> String {
        guard input.name != nil else { throw CRMError.invalid("name is required") }
        let record = try input.validated(time: time).record(id: nil, tags: input.tags ?? [], createdAt: timestamp())
        return try await change(caller, "patient.create", "patient") { tx in
            let id = try tx.insert(record)
            return (id, id)
        }
    }

    /// Edits a patient. Fields left nil keep their value; `tags` replaces the tag set.
    /// Writing `phone` or `address` also resolves an open keep-both conflict on it.
    public func update(_ caller: Caller, id: String, _ input: PatientInput) async throws {
        let fields = try input.validated(time: time)
        try await change(caller, "patient.update", "patient") { tx in
            try crm.requireReach(caller, patient: id, tx.db)
            let values = fields.changedColumns
            guard let row = try Row.fetchOne(tx.db, sql: "SELECT tags FROM patient WHERE id = ?", arguments: [id]) else {
                throw CRMError.notFound("patient", id)
            }
            if !values.isEmpty { try tx.update(PatientRecord.self, id: id, values) }
            if let tags = input.tags {
                let current = Set(SetCodec.decode(row["tags"] as DatabaseValue) ?? [])
                for tag in current.subtracting(tags) { try tx.removeElement(tag, from: "tags", of: "patient", id: id) }
                for tag in Set(tags).subtracting(current) { try tx.addElement(tag, to: "tags", of: "patient", id: id) }
            }
            return ((), id)
        }
    }

    /// One patient card as stored (not following merges).
    public func patient(_ id: String) async throws -> Patient {
        guard let patient = try await read({ db in try Row.fetchOne(db, sql: "SELECT * FROM patient WHERE id = ?", arguments: [id]).map(Patient.init(row:)) }) else {
            throw CRMError.notFound("patient", id)
        }
        return patient
    }

    /// The current merge graph.
    public func mergeGraph() async throws -> MergeGraph {
        try await read { db in try Self.mergeGraph(db) }
    }

    static func mergeGraph(_ db: Database) throws -> MergeGraph {
        let rows = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT id, survivorId, mergedId FROM patientMerge WHERE undone IS NOT 1 AND survivorId IS NOT NULL AND mergedId IS NOT NULL"))
        return MergeGraph(merges: rows.map { (id: $0["id"], survivor: $0["survivorId"], merged: $0["mergedId"]) })
    }

    /// Finds archives by name prefix, phone, or ID number (``search(_:_:page:)`` with text only).
    public func search(_ caller: Caller, query: String, page: PageRequest) async throws -> Page<Patient> {
        try await search(caller, ArchiveQuery(text: query), page: page)
    }

    /// Caller-ID lookup (来电弹屏): the archives whose phone matches the number, after normalising it
    /// (+86, spaces, dashes). Merged-away patients resolve to their survivor. Also says whether the
    /// number is blacklisted.
    public func lookupCaller(_ caller: Caller, phone: String) async throws -> CallerLookup {
        try caller.require(.agent, .manager, .admin)
        guard let number = PhoneNumber.normalize(phone) else { throw CRMError.unprocessable("not a phone number") }
        return try await read { db in
            let graph = try Self.mergeGraph(db)
            let ids = try String.fetchAll(db, sql: "SELECT id FROM patient WHERE phone = ?", arguments: [number])
            let roots = Array(Set(ids.map(graph.root(of:)))).sorted()
            let patients = try roots.compactMap { id in try Row.fetchOne(db, sql: "SELECT * FROM patient WHERE id = ?", arguments: [id]).map(Patient.init(row:)) }
            let blacklisted = try Bool.fetchOne(db, sql: "SELECT 1 FROM blacklist WHERE id = ? AND active = 1", arguments: [number]) ?? false
            return CallerLookup(number: number, blacklisted: blacklisted, patients: patients)
        }
    }
}

/// What a caller-ID lookup found.
public struct CallerLookup: Codable, Sendable {
    public var number: String
    public var blacklisted: Bool
    public var patients: [Patient]
}
