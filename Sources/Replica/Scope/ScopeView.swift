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

    /// Whether a row of the scope root in these values names one of the node's wards (whatever its
    /// dates): such rows decide the scope, so a ward node applies them first.
    func isRootRowOfOwnWard(_ table: TableDeclaration, values: [DatabaseValue], root: PatientScopeRoot?) -> Bool {
        guard let root, table.name == root.table, let index = table.columnIndex(root.wardColumn),
            let ward = String.fromDatabaseValue(values[index])
        else { return false }
        return containsWard(ward)
    }

    /// Whether `ward` is one of the node's wards, compared byte for byte (``Swift/Set/containsExactly(_:)``).
    func containsWard(_ ward: String) -> Bool {
        wards.containsExactly(ward)
    }
}

/// A ``FeedScope`` evaluated against one database state (one transaction).
struct ScopeView {
    let scope: FeedScope
    let root: PatientScopeRoot?
    /// The patients in scope as of this state (of the candidates it was asked about, when it was),
    /// their ids told apart byte for byte (``contains(patient:)``).
    let patients: Set<ExactText>

    /// A view read before (a snapshot's pages share the view of its first page).
    init(scope: FeedScope, root: PatientScopeRoot?, patients: Set<ExactText>) {
        self.scope = scope
        self.root = root
        self.patients = patients
    }

    /// Whether `patient` is in scope, its id compared byte for byte as SQLite compares it. Swift's
    /// `String` equality treats canonically equivalent ids as one: a ward registering patient
    /// "P-\u{212A}01" (a Kelvin sign) would otherwise be granted the rows of patient "P-K01".
    func contains(patient: String) -> Bool {
        patients.contains(ExactText(patient))
    }

    /// Reads which patients the scope holds now (`now`: milliseconds since 1970); of `candidates`
    /// only, when given (a page of the feed asks about the patients it carries, not about every
    /// patient of the ward).
    init(_ scope: FeedScope, policies: PolicySet, now: UInt64, _ db: Database, of candidates: Set<ExactText>? = nil) throws {
        self.scope = scope
        self.root = policies.patientScope
        guard let root, !scope.wards.isEmpty else {
            self.patients = []
            return
        }
        let cutoff = Self.day(now, minusDays: try Self.windowDays(root, policies: policies, db))
        let wards = scope.wards.sorted()
        guard let rootTable = policies.table(named: root.table), let patientIndex = rootTable.columnIndex(root.patientColumn) else {
            self.patients = []
            return
        }
        if let candidates, candidates.isEmpty {
            self.patients = []
            return
        }
        let columns = rootTable.columns.map(\.name.quotedDatabaseIdentifier)
        // Asked about a few patients, `+` keeps SQLite on the patient column's index, not the ward's.
        let ward = (candidates == nil ? "" : "+") + root.wardColumn.quotedDatabaseIdentifier
        var arguments = StatementArguments(wards + [cutoff])
        var sql = """
            SELECT \(columns.joined(separator: ", ")), _sf_meta FROM \(root.table.quotedDatabaseIdentifier)
            WHERE \(ward) IN (\(wards.map { _ in "?" }.joined(separator: ",")))
              AND \(root.cancelledColumn.quotedDatabaseIdentifier) IS NOT 1
              AND (\(root.endedColumn.quotedDatabaseIdentifier) IS NULL OR substr(\(root.endedColumn.quotedDatabaseIdentifier), 1, 10) >= ?)
            """
        if let candidates {
            sql += " AND \(root.patientColumn.quotedDatabaseIdentifier) IN (SELECT value FROM json_each(?))"
            arguments += [SetCodec.text(candidates.map(\.text))]
        }
        // A scope-root row the ward node wrote itself (its patient column stamped by it) puts a
        // patient in its scope only if the node also created the patient's card (registered at the
        // bedside): else a stolen gateway could pull any archive by admitting it to its own ward.
        var patients: [String] = [], ownAdmissions: [String] = []
        for row in try Row.fetchAll(db, sql: sql, arguments: arguments) {
            let values = (0..<rootTable.columns.count).map { row[$0] as DatabaseValue }
            guard let patient = String.fromDatabaseValue(values[patientIndex]) else { continue }
            guard let state = Self.state(row[rootTable.columns.count] as Data?, values, rootTable) else { continue }
            if case .register(let stamp) = state.columns[patientIndex].meta, stamp.origin == scope.node {
                ownAdmissions.append(patient)
            } else {
                patients.append(patient)
            }
        }
        // Ids are compared by their bytes throughout (see `contains(patient:)`).
        var inScope = patients.uniqueExactly()
        for patient in ownAdmissions where !inScope.contains(ExactText(patient)) {
            guard try Self.creator(ofPatient: patient, policies: policies, db) == scope.node else { continue }
            inScope.insert(ExactText(patient))
        }
        self.patients = inScope
    }

    /// A row's merge state, or nil when its metadata does not decode (such a row grants nothing).
    private static func state(_ meta: Data?, _ values: [DatabaseValue], _ table: TableDeclaration) -> RowState? {
        guard let meta else { return nil }
        return try? RowMetaCodec.decode(Array(meta), values: values, policies: table.columns.map(\.policy))
    }

    /// The node that created a patient's card: the origin of its earliest stamp (a card is created
    /// whole, every column stamped by its creation; a later write that lost does not stay).
    static func creator(ofPatient patient: String, policies: PolicySet, _ db: Database) throws -> NodeID? {
        guard let table = policies.tables.first(where: { $0.hold == .patient(column: $0.primaryKey) }) else { return nil }
        let columns = table.columns.map(\.name.quotedDatabaseIdentifier)
        let sql = "SELECT \(columns.joined(separator: ", ")), _sf_meta FROM \(table.name.quotedDatabaseIdentifier) WHERE \(table.primaryKey.quotedDatabaseIdentifier) = ?"
        guard let row = try Row.fetchOne(db, sql: sql, arguments: [patient]) else { return nil }
        let values = (0..<table.columns.count).map { row[$0] as DatabaseValue }
        guard let state = state(row[table.columns.count] as Data?, values, table) else { return nil }
        let stamps = state.columns.compactMap { column -> Stamp? in
            if case .register(let stamp) = column.meta, stamp.seq > 0 { return stamp }
            return nil
        }
        return stamps.min { ($0.hlc, $0.origin) < ($1.hlc, $1.origin) }?.origin
    }

    /// Whether the scope holds a row of `table` with these column values (declared order),
    /// created by `author`.
    func holds(_ table: TableDeclaration, key: String, values: [DatabaseValue], author: NodeID?) -> Bool {
        switch table.hold {
        case nil: return false
        case .all: return true
        case .author: return author == scope.node
        case .ward(let column):
            guard let index = table.columnIndex(column), index < values.count, let ward = String.fromDatabaseValue(values[index]) else { return false }
            return scope.containsWard(ward)
        case .patient(let column):
            return Self.patient(of: table, column: column, key: key, values: values).map(contains(patient:)) ?? false
        }
    }

    /// The patient a row of a `hold patient` table belongs to.
    static func patient(of table: TableDeclaration, column: String, key: String, values: [DatabaseValue]) -> String? {
        if column == table.primaryKey { return key }
        guard let index = table.columnIndex(column), index < values.count else { return nil }
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
