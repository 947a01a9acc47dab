import Foundation
import GRDB
import Replica

/// A merge as listed in an archive.
public struct PatientMerge: Codable, Sendable, Hashable {
    public var id: String
    public var survivorId: String
    public var mergedId: String
    public var reason: String?
    public var mergedAt: String?
    public var mergedBy: String?
    public var undone: Bool
    /// False when an earlier merge of the same patient (or a cycle) made this one ineffective.
    public var effective: Bool
}

/// Two or more archives that look like one patient.
public struct DuplicateCandidates: Codable, Sendable {
    /// `idNumber` or `nameBirthDatePhone`.
    public var reason: String
    public var patientIds: [String]
}

extension CRM.Patients {
    /// Merges `mergedId` into `survivorId` (档案合并). Nothing is moved: records of the merged
    /// patient, including ones written later on nodes that have not heard of the merge, show under
    /// the survivor everywhere once the merge row arrives.
    public func merge(_ caller: Caller, survivorId: String, mergedId: String, reason: String?) async throws -> String {
        try caller.require(.manager, .admin)
        guard survivorId != mergedId else { throw CRMError.unprocessable("a patient cannot be merged into itself") }
        if let reason, reason.count > 200 { throw CRMError.invalid("reason must be at most 200 characters") }
        return try await change(caller, "patient.merge", "patientMerge") { tx in
            let id = try merge(tx, caller, survivorId: survivorId, mergedId: mergedId, reason: reason)
            return (id, id)
        }
    }

    func merge(_ tx: ReplicaTransaction, _ caller: Caller, survivorId: String, mergedId: String, reason: String?) throws -> String {
        for id in [survivorId, mergedId] {
            guard try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM patient WHERE id = ?", arguments: [id]) == true else {
                throw CRMError.notFound("patient", id)
            }
        }
        let graph = try Self.mergeGraph(tx.db)
        guard !graph.isMergedAway(mergedId) else { throw CRMError.conflict("patient '\(mergedId)' is already merged into another archive") }
        guard !graph.isMergedAway(survivorId) else {
            throw CRMError.conflict("patient '\(survivorId)' is merged away; merge into its survivor '\(graph.root(of: survivorId))'")
        }
        return try tx.insert(
            PatientMergeRecord(survivorId: survivorId, mergedId: mergedId, reason: reason, mergedAt: timestamp(), mergedBy: caller.userId, undone: 0))
    }

    /// Undoes a merge: both archives show separately again, on every node.
    public func undoMerge(_ caller: Caller, mergeId: String) async throws {
        try caller.require(.manager, .admin)
        try await change(caller, "patient.unmerge", "patientMerge") { tx in
            guard let undone = try Int?.fetchOne(tx.db, sql: "SELECT undone FROM patientMerge WHERE id = ?", arguments: [mergeId]) else {
                throw CRMError.notFound("merge", mergeId)
            }
            guard undone != 1 else { throw CRMError.conflict("merge '\(mergeId)' is already undone") }
            try tx.update(PatientMergeRecord.self, id: mergeId, [.undone: 1, .undoneAt: timestamp(), .undoneBy: caller.userId])
            return ((), mergeId)
        }
    }

    /// Every merge touching the given patients, oldest first.
    func merges(_ db: Database, touching ids: [String], graph: MergeGraph) throws -> [PatientMerge] {
        let marks = databaseQuestionMarks(count: ids.count)
        return try Row.fetchAll(
            db, sql: "SELECT * FROM patientMerge WHERE survivorId IN (\(marks)) OR mergedId IN (\(marks)) ORDER BY id",
            arguments: StatementArguments(ids + ids)
        ).map { row in
            let undone = (row["undone"] as Int?) == 1
            let id: String = row["id"]
            return PatientMerge(
                id: id, survivorId: row["survivorId"], mergedId: row["mergedId"], reason: row["reason"],
                mergedAt: row["mergedAt"], mergedBy: row["mergedBy"], undone: undone,
                effective: !undone && !graph.skipped.contains(id))
        }
    }

    /// Groups of archives that look like one patient: the same ID number, or the same name, birth
    /// date and phone. Merged-away archives are left out.
    public func duplicateCandidates(_ caller: Caller, limit: Int = 100) async throws -> [DuplicateCandidates] {
        try caller.require(.manager, .admin)
        return try await read { db in
            let graph = try Self.mergeGraph(db)
            var groups: [DuplicateCandidates] = []
            var seen = Set<[String]>()
            let queries = [
                ("idNumber", "SELECT group_concat(id, ',') FROM patient WHERE idNumber IS NOT NULL AND idNumber != '' GROUP BY idNumber HAVING COUNT(*) > 1"),
                (
                    "nameBirthDatePhone",
                    "SELECT group_concat(id, ',') FROM patient WHERE birthDate IS NOT NULL AND phone IS NOT NULL GROUP BY name, birthDate, phone HAVING COUNT(*) > 1"
                ),
            ]
            for (reason, sql) in queries {
                for joined in try String.fetchAll(db, sql: sql) {
                    let ids = Set(joined.split(separator: ",").map(String.init).filter { !graph.isMergedAway($0) }).sorted()
                    guard ids.count > 1, seen.insert(ids).inserted else { continue }
                    groups.append(DuplicateCandidates(reason: reason, patientIds: ids))
                    if groups.count >= limit { return groups }
                }
            }
            return groups
        }
    }
}
