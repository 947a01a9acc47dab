import Foundation
import GRDB
import Replica

/// Planning calls ahead: the open calls of a range of days and who holds them. Working today's
/// calls is the queue (CRM+FollowUps).
extension CRM.FollowUps {
    /// Open calls (not bedside visits, not SMS) due within `range`, earliest first, optionally only
    /// those held by `holder` (`""` for the unclaimed). Paged by `dueDate|id`.
    public func openCalls(_ caller: Caller, range: DayRange, holder: String?, page: PageRequest) async throws -> Page<QueueEntry> {
        try caller.require(.agent, .manager)
        try range.validate(time)
        if let holder, holder.count > 64 { throw CRMError.invalid("holder must be at most 64 characters") }
        let today = today()
        return try await read { db in
            let graph = try CRM.Patients.mergeGraph(db)
            var sql = """
                SELECT t.* FROM followUpTask t LEFT JOIN encounter e ON e.id = t.encounterId
                WHERE t.dueDate >= ? AND t.dueDate <= ? AND t.doneAt IS NULL AND t.withdrawn IS NOT 1 AND e.cancelled IS NOT 1
                AND t.kind NOT IN ('bedside24h', ?)
                """
            var arguments: StatementArguments = [range.from, range.to, Self.smsTaskKind]
            switch holder {
            case nil: break
            case ""?: sql += " AND t.claimedBy IS NULL"
            case let holder?: sql += " AND t.claimedBy = ?"; arguments += [holder]
            }
            if let (key, id) = try page.keyAndID() {
                sql += " AND (t.dueDate, t.id) > (?, ?)"
                arguments += [key, id]
            }
            sql += " ORDER BY t.dueDate, t.id LIMIT ?"
            arguments += [page.limit + 1]
            let entries = try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                let task = FollowUpTask(row: row)
                let patient = try Row.fetchOne(db, sql: "SELECT * FROM patient WHERE id = ?", arguments: [graph.root(of: task.patientId)])
                    .map { Patient(row: $0).masked(for: caller) }
                return QueueEntry(task: task, patient: patient, overdue: task.dueDate < today)
            }
            return page.page(entries, id: { "\($0.task.dueDate)|\($0.task.id)" })
        }
    }
}
