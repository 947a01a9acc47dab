/// Which rows of a table a ward node holds (`hold` in a policy file). Central and call centers
/// hold every row of every table; a ward node holds only what its table's rule grants:
///
/// ```
/// hold all                 every row (reference data: wards, staff, templates)
/// hold ward wardId         rows whose `wardId` is one of the node's wards (its staff's accounts)
/// hold patient patientId   rows of a patient in the node's scope (see ``PatientScopeRoot``)
/// hold author              only rows the node wrote itself (its own audit entries, notes)
/// ```
///
/// A table with no `hold` line never reaches a ward node (SMS, campaigns, opt-outs).
public enum HoldRule: Hashable, Sendable {
    /// Every row.
    case all
    /// Rows whose text column names one of the node's wards.
    case ward(column: String)
    /// Rows whose text column names a patient in the node's scope.
    case patient(column: String)
    /// Rows the node wrote itself, and no others.
    case author

    /// The rule as a policy file writes it (and the policy hash covers it).
    var canonicalText: String {
        switch self {
        case .all: "hold all"
        case .ward(let column): "hold ward \(column)"
        case .patient(let column): "hold patient \(column)"
        case .author: "hold author"
        }
    }
}

/// Which patients a ward node's scope holds (`scope-root` on the table that decides it, the
/// encounters):
///
/// ```
/// scope-root patientId ward wardId ended dischargedAt cancelled cancelled window setting.scopeDays.value 30
/// ```
///
/// A patient is in a ward node's scope while one of the root table's rows names the patient and
/// one of the node's wards, is not cancelled (the integer column is not 1), and has not ended, or
/// ended (the date-time column, ISO-8601, compared by its `yyyy-MM-dd` day) less than the window
/// ago. The window is read from a replicated row (table, key, text column holding a number of
/// days), with a default when the row is absent or not a number from 0 to 3650.
public struct PatientScopeRoot: Hashable, Sendable {
    /// The root table (`encounter`).
    public var table: String
    /// Its column naming the patient.
    public var patientColumn: String
    /// Its column naming the ward.
    public var wardColumn: String
    /// Its column holding when the row ended (NULL while open).
    public var endedColumn: String
    /// Its integer column that is 1 once the row is cancelled.
    public var cancelledColumn: String
    /// Where the window in days is read: a replicated table, the key of its row, and a text column.
    public var windowTable: String, windowKey: String, windowColumn: String
    /// The window when that row is absent or unreadable.
    public var defaultWindowDays: Int

    /// The declaration as a policy file writes it (the policy hash covers it).
    var canonicalText: String {
        "scope-root \(patientColumn) ward \(wardColumn) ended \(endedColumn) cancelled \(cancelledColumn)"
            + " window \(windowTable).\(windowKey).\(windowColumn) \(defaultWindowDays)"
    }
}
