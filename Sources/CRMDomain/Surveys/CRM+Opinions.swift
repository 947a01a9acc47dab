import Foundation
import GRDB
import Replica

/// Opinions of one member of staff (or department) by kind.
public struct OpinionCounts: Codable, Sendable, Hashable {
    /// The staff or department id; empty for opinions that name none.
    public var key: String
    public var name: String
    public var important: Int
    public var praise: Int
    public var suggestion: Int
    public var escalated: Int
}

extension OpinionEntry {
    init(row: Row) {
        self.init(
            id: row["id"], responseId: row["responseId"] ?? "", kind: row["kind"], text: row["text"] ?? "",
            departmentId: row["departmentId"], staffId: row["staffId"], wardId: row["wardId"], mode: row["mode"], at: row["at"],
            patientId: row["patientId"], escalatedAt: row["escalatedAt"], escalatedBy: row["escalatedBy"], escalationNote: row["escalationNote"])
    }
}

extension CRM.Surveys {
    /// Grades an opinion (分级管理): important, a suggestion or praise. An important one appears on
    /// the important-opinions list managers read and report up. Managers only; audited.
    public func gradeOpinion(_ caller: Caller, id: String, kind: OpinionInput.Kind) async throws {
        try caller.require(.manager)
        try await change(caller, "opinion.grade", "opinion") { tx in
            guard try tx.rowExists("opinion", id: id) else { throw CRMError.notFound("opinion", id) }
            try tx.update(OpinionRecord.self, id: id, [.kind: kind.rawValue])
            return ((), id)
        }
    }

    /// Records that a manager reported an opinion up (上报) to the hospital's management, with a
    /// note saying to whom or why. Once only: a second report is refused, so the first date stands.
    public func escalateOpinion(_ caller: Caller, id: String, note: String) async throws {
        try caller.require(.manager)
        let note = note.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...500).contains(note.count) else { throw CRMError.invalid("the note must be 1–500 characters") }
        let at = timestamp()
        try await change(caller, "opinion.escalate", "opinion") { tx in
            guard let row = try Row.fetchOne(tx.db, sql: "SELECT escalatedAt FROM opinion WHERE id = ?", arguments: [id]) else {
                throw CRMError.notFound("opinion", id)
            }
            guard (row["escalatedAt"] as String?) == nil else { throw CRMError.conflict("this opinion was already reported up") }
            try tx.update(OpinionRecord.self, id: id, [.escalatedAt: at, .escalatedBy: caller.userId, .escalationNote: note])
            return ((), id)
        }
    }
}

extension CRM.Statistics {
    /// Opinions in the range per member of staff they name (praise and criticism of a person),
    /// most first; opinions naming nobody are counted under an empty key.
    public func opinionsByStaff(_ caller: Caller, range: DayRange) async throws -> [OpinionCounts] {
        try caller.require(.manager, .admin)
        try range.validate(time)
        return try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT coalesce(o.staffId, ''), s.name, SUM(o.kind = 'important'), SUM(o.kind = 'praise'), SUM(o.kind = 'suggestion'),
                           SUM(o.escalatedAt IS NOT NULL)
                    FROM opinion o LEFT JOIN staff s ON s.id = o.staffId
                    WHERE o.at >= ? AND o.at < ? GROUP BY 1 ORDER BY COUNT(*) DESC, 1
                    """, arguments: [range.from, range.toExclusive]
            ).map { row in
                OpinionCounts(key: row[0], name: row[1] ?? "", important: row[2] ?? 0, praise: row[3] ?? 0, suggestion: row[4] ?? 0, escalated: row[5] ?? 0)
            }
        }
    }
}
