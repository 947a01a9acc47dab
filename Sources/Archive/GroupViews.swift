/// The hospital group's statistics over the archive: SQL views that ship with the binary and are
/// created (or replaced) whenever a central starts archiving. BI tools read them like tables.
///
/// They count as each central's own statistics do (`CRM.Statistics`): satisfaction and NPS per
/// hospital × ward × month × mode, never pooled across modes; complaint ageing per hospital. One
/// difference: complaint ages here are calendar days (each hospital's working calendar stays in
/// its own central). Satisfaction here is a share of responses: patients a follow-up did not reach
/// (central's `notReached`, from follow-up tasks) are not in the views, so central's own rate,
/// which counts them, is lower.
enum GroupViews {
    static let statements: [String] = [
        // Which hospitals the archive holds, and how far each got.
        """
        CREATE OR REPLACE VIEW suifang.archive_status AS
        SELECT h.hospital, h.role, h.registered_at, max(m.archived_at) AS last_archived_at, count(m.origin) AS origins
        FROM suifang._archive_hospital h LEFT JOIN suifang._archive_mark m USING (hospital)
        GROUP BY h.hospital, h.role, h.registered_at
        """,
        // A day from a replica's text, or NULL: a malformed value must not break a view.
        """
        CREATE OR REPLACE FUNCTION suifang.try_date(value text) RETURNS date LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
        BEGIN
            RETURN to_date(substr(value, 1, 10), 'YYYY-MM-DD');
        EXCEPTION WHEN others THEN
            RETURN NULL;
        END $$
        """,
        """
        CREATE OR REPLACE VIEW suifang.response_day AS
        SELECT _hospital AS hospital, coalesce(substr(submitted_at, 1, 10), '') AS day, coalesce(ward_id, '') AS ward_id,
               coalesce(department_id, '') AS department_id, coalesce(mode, '') AS mode,
               count(*) AS responses,
               count(*) FILTER (WHERE recommend >= 9) AS promoters,
               count(*) FILTER (WHERE recommend BETWEEN 7 AND 8) AS passives,
               count(*) FILTER (WHERE recommend <= 6) AS detractors,
               count(recommend) AS recommenders,
               count(*) FILTER (WHERE overall >= 4) AS satisfied,
               count(*) FILTER (WHERE overall <= 2) AS dissatisfied,
               count(*) FILTER (WHERE overall = 3 OR overall IS NULL) AS no_opinion
        FROM suifang.survey_response
        GROUP BY 1, 2, 3, 4, 5
        """,
        """
        CREATE OR REPLACE VIEW suifang.nps_month AS
        SELECT hospital, ward_id, substr(day, 1, 7) AS month, mode,
               sum(promoters)::bigint AS promoters, sum(passives)::bigint AS passives, sum(detractors)::bigint AS detractors,
               sum(recommenders)::bigint AS recommenders,
               round((sum(promoters) - sum(detractors)) * 100.0 / sum(recommenders), 1) AS nps
        FROM suifang.response_day
        WHERE ward_id <> ''
        GROUP BY hospital, ward_id, substr(day, 1, 7), mode
        HAVING sum(recommenders) > 0::numeric
        """,
        """
        CREATE OR REPLACE VIEW suifang.satisfaction_month AS
        SELECT hospital, ward_id, department_id, substr(day, 1, 7) AS month, mode,
               sum(responses)::bigint AS responses, sum(satisfied)::bigint AS satisfied, sum(dissatisfied)::bigint AS dissatisfied,
               sum(no_opinion)::bigint AS no_opinion,
               round(sum(satisfied) * 100.0 / nullif(sum(satisfied) + sum(dissatisfied) + sum(no_opinion), 0::numeric), 1) AS satisfied_percent_of_responses
        FROM suifang.response_day
        GROUP BY hospital, ward_id, department_id, substr(day, 1, 7), mode
        """,
        """
        CREATE OR REPLACE VIEW suifang.complaint_ageing AS
        SELECT _hospital AS hospital, status,
               count(*) AS open,
               count(*) FILTER (WHERE deadline < to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')) AS overdue,
               count(*) FILTER (WHERE age <= 2) AS days_0_2,
               count(*) FILTER (WHERE age BETWEEN 3 AND 5) AS days_3_5,
               count(*) FILTER (WHERE age BETWEEN 6 AND 10) AS days_6_10,
               count(*) FILTER (WHERE age >= 11) AS days_11_plus
        FROM (SELECT _hospital, coalesce(status, 'registered') AS status, deadline,
                     (now() AT TIME ZONE 'Asia/Shanghai')::date
                       - coalesce(suifang.try_date(registered_at), (now() AT TIME ZONE 'Asia/Shanghai')::date) AS age
              FROM suifang.complaint WHERE status <> 'closed') AS open_complaint
        GROUP BY _hospital, status
        """,
    ]

    /// The name of the view `statement` creates, or nil for another statement.
    static func viewName(of statement: String) -> String? {
        let prefix = "CREATE OR REPLACE VIEW "
        let trimmed = statement.drop { $0.isWhitespace }
        guard trimmed.hasPrefix(prefix) else { return nil }
        return String(trimmed.dropFirst(prefix.count).prefix { !$0.isWhitespace })
    }

    /// What a view made by `statement` carries as its comment: the statement's FNV-1a hash, so
    /// setup replaces a view only when this release defines it differently (replacing locks the
    /// view ACCESS EXCLUSIVE, and a report reading it would hold setup up).
    static func tag(of statement: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in statement.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return "suifang view " + String(hash, radix: 16)
    }
}
