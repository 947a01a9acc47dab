import Foundation
import GRDB

/// The scope of a ward node: whose rows it holds. Central's feed evaluates it for each ward peer
/// (which rows to send); the ward evaluates it for itself (which rows to accept and keep).
public struct FeedScope: Hashable, Sendable {
    /// The ward node.
    public var node: NodeID
    /// The wards its certificate names.
    public var wards: Set<String>

    /// Creates the scope of a ward node.
    public init(node: NodeID, wards: Set<String>) {
        self.node = node
        self.wards = wards
    }
}

/// A ``FeedScope`` evaluated against one database state (one transaction).
struct ScopeView {
    let scope: FeedScope
    let root: PatientScopeRoot?
    /// The patients in scope as of this state.
    let patients: Set<String>

    /// Reads which patients the scope holds now (`now`: milliseconds since 1970).
    init(_ scope: FeedScope, policies: PolicySet, now: UInt64, _ db: Database) throws {
        self.scope = scope
        self.root = policies.patientScope
        guard let root, !scope.wards.isEmpty else {
            self.patients = []
            return
        }
        let cutoff = Self.day(now, minusDays: try Self.windowDays(root, policies: policies, db))
        let wards = scope.wards.sorted()
        let sql = """
            SELECT DISTINCT \(root.patientColumn.quotedDatabaseIdentifier) FROM \(root.table.quotedDatabaseIdentifier)
            WHERE \(root.wardColumn.quotedDatabaseIdentifier) IN (\(wards.map { _ in "?" }.joined(separator: ",")))
              AND \(root.cancelledColumn.quotedDatabaseIdentifier) IS NOT 1
              AND (\(root.endedColumn.quotedDatabaseIdentifier) IS NULL OR substr(\(root.endedColumn.quotedDatabaseIdentifier), 1, 10) >= ?)
            """
        self.patients = Set(try String.fetchAll(db, sql: sql, arguments: StatementArguments(wards + [cutoff])))
    }

    /// Whether the scope holds a row of `table` with these column values (declared order),
    /// created by `author`.
    func holds(_ table: TableDeclaration, key: String, values: [DatabaseValue], author: NodeID?) -> Bool {
        switch table.hold {
        case nil: return false
        case .all: return true
        case .author: return author == scope.node
        case .ward(let column):
            guard let index = table.columnIndex(column), let ward = String.fromDatabaseValue(values[index]) else { return false }
            return scope.wards.contains(ward)
        case .patient(let column):
            return patient(of: table, column: column, key: key, values: values).map(patients.contains) ?? false
        }
    }

    /// Whether a row of the root table in these values puts its patient in the scope's wards at all
    /// (whatever its dates): such rows decide the scope, so a ward node applies them first.
    func isRootRowOfOwnWard(_ table: TableDeclaration, values: [DatabaseValue]) -> Bool {
        guard let root, table.name == root.table, let index = table.columnIndex(root.wardColumn),
            let ward = String.fromDatabaseValue(values[index])
        else { return false }
        return scope.wards.contains(ward)
    }

    /// The patient a row of a `hold patient` table belongs to.
    func patient(of table: TableDeclaration, column: String, key: String, values: [DatabaseValue]) -> String? {
        if column == table.primaryKey { return key }
        guard let index = table.columnIndex(column) else { return nil }
        return String.fromDatabaseValue(values[index])
    }

    /// The window in days: the declared row's value when it is a number from 0 to 3650.
    static func windowDays(_ root: PatientScopeRoot, policies: PolicySet, _ db: Database) throws -> Int {
        let key = policies.table(named: root.windowTable)?.primaryKey ?? "id"
        let sql = """
            SELECT \(root.windowColumn.quotedDatabaseIdentifier) FROM \(root.windowTable.quotedDatabaseIdentifier)
            WHERE \(key.quotedDatabaseIdentifier) = ?
            """
        let value = try DatabaseValue.fetchOne(db, sql: sql, arguments: [root.windowKey])
        guard let text = value.flatMap(String.fromDatabaseValue), let days = Int(text.trimmingCharacters(in: .whitespaces)),
            (0...3650).contains(days)
        else { return root.defaultWindowDays }
        return days
    }

    /// `yyyy-MM-dd` (UTC) of `now` minus `days`.
    static func day(_ now: UInt64, minusDays days: Int) -> String {
        let date = Date(timeIntervalSince1970: Double(now) / 1000 - Double(days) * 86_400)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1)
    }
}
