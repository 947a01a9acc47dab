import Foundation

/// Mainland China's public holidays and make-up working days (调休上班), as announced by the
/// State Council's General Office (国务院办公厅关于2026年部分节假日安排的通知). One line per
/// day: `date kind name`, kind `holiday` or `workday`. Local overrides go in the replicated
/// `calendarDay` table; a new year's announcement is added here.
enum ChinaPublicHolidays {
    static let data = """
        2026-01-01 holiday 元旦
        2026-01-02 holiday 元旦
        2026-01-03 holiday 元旦
        2026-01-04 workday 元旦调休
        2026-02-14 workday 春节调休
        2026-02-15 holiday 春节
        2026-02-16 holiday 春节
        2026-02-17 holiday 春节
        2026-02-18 holiday 春节
        2026-02-19 holiday 春节
        2026-02-20 holiday 春节
        2026-02-21 holiday 春节
        2026-02-22 holiday 春节
        2026-02-23 holiday 春节
        2026-02-28 workday 春节调休
        2026-04-04 holiday 清明节
        2026-04-05 holiday 清明节
        2026-04-06 holiday 清明节
        2026-05-01 holiday 劳动节
        2026-05-02 holiday 劳动节
        2026-05-03 holiday 劳动节
        2026-05-04 holiday 劳动节
        2026-05-05 holiday 劳动节
        2026-05-09 workday 劳动节调休
        2026-06-19 holiday 端午节
        2026-06-20 holiday 端午节
        2026-06-21 holiday 端午节
        2026-09-20 workday 国庆节调休
        2026-09-25 holiday 中秋节
        2026-09-26 holiday 中秋节
        2026-09-27 holiday 中秋节
        2026-10-01 holiday 国庆节
        2026-10-02 holiday 国庆节
        2026-10-03 holiday 国庆节
        2026-10-04 holiday 国庆节
        2026-10-05 holiday 国庆节
        2026-10-06 holiday 国庆节
        2026-10-07 holiday 国庆节
        2026-10-10 workday 国庆节调休
        """

    /// The shipped days: date → (isWorkingDay, name).
    static let days: [String: (working: Bool, name: String)] = {
        var days: [String: (Bool, String)] = [:]
        for line in data.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 2)
            guard parts.count == 3 else { continue }
            days[String(parts[0])] = (parts[1] == "workday", String(parts[2]))
        }
        return days
    }()
}
