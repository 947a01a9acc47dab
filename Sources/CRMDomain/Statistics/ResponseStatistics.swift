import Foundation
import GRDB
import Replica

/// Daily survey counts per (day, ward, department, mode), kept by a trigger in the same
/// transaction as every response row, local or merged from another node.
///
/// Responses never change once submitted (`surveyResponse` is append-only), so counts only
/// add up. NPS and satisfaction over any range of days read a few thousand of these rows instead
/// of scanning a million responses. The table is local: each node derives it from its own rows.
///
/// The trigger must never fail: a failing trigger would fail the merge of a whole batch and stall
/// sync. Every value is coalesced, so even a malformed row from another node is counted (under
/// an empty day, ward or mode) rather than refused.
enum ResponseStatistics {
    static let table = "crm_response_day"

    static func prepare(_ db: Database) throws {
        let fresh = try !db.tableExists(table)
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS \(table) (
                    day TEXT NOT NULL, wardId TEXT NOT NULL, departmentId TEXT NOT NULL, mode TEXT NOT NULL,
                    responses INTEGER NOT NULL, promoters INTEGER NOT NULL, passives INTEGER NOT NULL, detractors INTEGER NOT NULL,
                    recommenders INTEGER NOT NULL, satisfied INTEGER NOT NULL, dissatisfied INTEGER NOT NULL, noOpinion INTEGER NOT NULL,
                    PRIMARY KEY (day, wardId, departmentId, mode)) WITHOUT ROWID;
                CREATE TRIGGER IF NOT EXISTS crm_response_day_count AFTER INSERT ON surveyResponse BEGIN
                    INSERT INTO \(table) (day, wardId, departmentId, mode, responses, promoters, passives, detractors, recommenders,
                                          satisfied, dissatisfied, noOpinion)
                    VALUES (\(columns(prefix: "NEW.")))
                    ON CONFLICT (day, wardId, departmentId, mode) DO UPDATE SET
                        responses = responses + 1, promoters = promoters + excluded.promoters, passives = passives + excluded.passives,
                        detractors = detractors + excluded.detractors, recommenders = recommenders + excluded.recommenders,
                        satisfied = satisfied + excluded.satisfied, dissatisfied = dissatisfied + excluded.dissatisfied,
                        noOpinion = noOpinion + excluded.noOpinion;
                END;
                """)
        if fresh {
            // A replica that had responses before this table existed: count them once.
            try db.execute(
                sql: """
                    INSERT INTO \(table)
                    SELECT day, wardId, departmentId, mode, SUM(responses), SUM(promoters), SUM(passives), SUM(detractors), SUM(recommenders),
                           SUM(satisfied), SUM(dissatisfied), SUM(noOpinion)
                    FROM (SELECT \(aliased()) FROM surveyResponse)
                    GROUP BY day, wardId, departmentId, mode
                    """)
        }
    }

    /// What one response adds to its day's row: (column, expression over the response row `p`).
    private static func additions(_ p: String) -> [(column: String, expression: String)] {
        [
            ("day", "coalesce(substr(\(p)submittedAt, 1, 10), '')"), ("wardId", "coalesce(\(p)wardId, '')"),
            ("departmentId", "coalesce(\(p)departmentId, '')"), ("mode", "coalesce(\(p)mode, '')"), ("responses", "1"),
            ("promoters", "coalesce(\(p)recommend >= 9, 0)"), ("passives", "coalesce(\(p)recommend BETWEEN 7 AND 8, 0)"),
            ("detractors", "coalesce(\(p)recommend <= 6, 0)"), ("recommenders", "\(p)recommend IS NOT NULL"),
            ("satisfied", "coalesce(\(p)overall >= 4, 0)"), ("dissatisfied", "coalesce(\(p)overall <= 2, 0)"),
            ("noOpinion", "coalesce(\(p)overall = 3, 1)"),
        ]
    }

    private static func columns(prefix p: String) -> String {
        additions(p).map(\.expression).joined(separator: ", ")
    }

    private static func aliased() -> String {
        additions("").map { "\($0.expression) AS \($0.column)" }.joined(separator: ", ")
    }
}
