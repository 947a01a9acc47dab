import Foundation
import GRDB
import Replica

/// Departments, wards, staff and diseases: the reference lists everything else points at.
public enum ReferenceKind: String, Codable, CaseIterable, Sendable {
    case department, ward, staff, disease

    var table: String { self == .disease ? "disease" : rawValue }
    /// The columns besides `name` this kind has.
    var fields: [String] {
        switch self {
        case .department: ["code"]
        case .ward: ["departmentId"]
        case .staff: ["departmentId", "title"]
        case .disease: []
        }
    }
}

/// One entry of a reference list.
public struct ReferenceItem: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var departmentId: String?
    public var code: String?
    public var title: String?

    public init(id: String, name: String, departmentId: String? = nil, code: String? = nil, title: String? = nil) {
        self.id = id
        self.name = name
        self.departmentId = departmentId
        self.code = code
        self.title = title
    }
}

extension CRM.Organisation {
    /// Creates or updates a reference entry (admin; managers may add diseases and staff).
    public func saveReference(_ caller: Caller, _ kind: ReferenceKind, _ item: ReferenceItem) async throws {
        if caller != .system { try caller.require(.admin, .manager) }
        guard ASCIIIdentifier(punctuation: "._:-", length: 1...40).admits(item.id) else {
            throw CRMError.invalid("\(kind.rawValue) id must be 1–40 of A-Z, a-z, 0-9, '.', '_', ':' or '-'")
        }
        guard !item.name.isEmpty, item.name.count <= 100 else { throw CRMError.invalid("\(kind.rawValue) name must be 1–100 characters") }
        try await change(caller, "\(kind.rawValue).save", kind.table) { tx in
            if kind.fields.contains("departmentId"), let departmentId = item.departmentId {
                guard try tx.rowExists("department", id: departmentId) else { throw CRMError.notFound("department", departmentId) }
            }
            switch kind {
            case .department: try tx.upsert(DepartmentRecord(id: item.id, name: item.name, code: item.code))
            case .ward: try tx.upsert(WardRecord(id: item.id, name: item.name, departmentId: item.departmentId))
            case .staff: try tx.upsert(StaffRecord(id: item.id, name: item.name, departmentId: item.departmentId, title: item.title))
            case .disease: try tx.upsert(DiseaseRecord(id: item.id, name: item.name))
            }
            return ((), item.id)
        }
    }

    /// A whole reference list, ordered by id.
    public func references(_ kind: ReferenceKind) async throws -> [ReferenceItem] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM \(kind.table) ORDER BY id").map { row in
                ReferenceItem(
                    id: row["id"], name: row["name"] ?? "",
                    departmentId: kind.fields.contains("departmentId") ? row["departmentId"] : nil,
                    code: kind.fields.contains("code") ? row["code"] : nil,
                    title: kind.fields.contains("title") ? row["title"] : nil)
            }
        }
    }

    /// A system parameter (系统参数), or `fallback` when unset or not a number.
    public func setting(_ key: String, default fallback: Int) async throws -> Int {
        try await read { db in try String.fetchOne(db, sql: "SELECT value FROM setting WHERE id = ?", arguments: [key]) }.flatMap(Int.init) ?? fallback
    }

    /// Every system parameter that is set, by key.
    public func settings() async throws -> [String: String] {
        try await read { db in
            Dictionary(try Row.fetchAll(db, sql: "SELECT id, value FROM setting").map { ($0["id"], $0["value"] ?? "") }, uniquingKeysWith: { a, _ in a })
        }
    }

    /// Sets a system parameter (admin).
    public func setSetting(_ caller: Caller, key: String, value: String) async throws {
        if caller != .system { try caller.require(.admin) }
        guard ASCIIIdentifier(punctuation: "._-", length: 1...64).admits(key), value.count <= 1000 else {
            throw CRMError.invalid("a setting key is 1–64 of A-Z, a-z, 0-9, '.', '_' or '-', its value at most 1000 characters")
        }
        try await change(caller, "setting.save", "setting") { tx in
            try tx.upsert(SettingRecord(id: key, value: value))
            return ((), key)
        }
    }
}

/// One line of the audit trail.
public struct AuditEntry: Codable, Sendable, Hashable {
    public var id: String
    public var at: String
    public var nodeId: String
    public var userId: String
    public var action: String
    public var entity: String
    public var entityId: String
}

extension CRM.Organisation {
    /// The audit trail, newest first (managers and admins).
    public func auditTrail(
        _ caller: Caller, entityId: String? = nil, userId: String? = nil, action: String? = nil, range: DayRange? = nil, page: PageRequest
    ) async throws -> Page<AuditEntry> {
        try caller.require(.manager, .admin)
        try range?.validate(time)
        for (name, value) in [("entity", entityId), ("user", userId), ("action", action)] where (value?.count ?? 0) > 100 {
            throw CRMError.invalid("\(name) must be at most 100 characters")
        }
        return try await read { db in
            var sql = "SELECT * FROM auditEntry WHERE 1"
            var arguments: StatementArguments = []
            if let entityId { sql += " AND entityId = ?"; arguments += [entityId] }
            if let userId { sql += " AND userId = ?"; arguments += [userId] }
            // An action or its family: `patient` finds patient.read, patient.search, …
            if let action { sql += " AND (action = ? OR (action >= ? AND action < ?))"; arguments += [action, action + ".", action + ".\u{10FFFF}"] }
            if let range { sql += " AND at >= ? AND at < ?"; arguments += [range.from, range.toExclusive] }
            if let after = page.after { sql += " AND id < ?"; arguments += [after] }
            sql += " ORDER BY id DESC LIMIT ?"
            arguments += [page.limit + 1]
            let entries = try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                AuditEntry(
                    id: row["id"], at: row["at"], nodeId: row["nodeId"], userId: row["userId"],
                    action: row["action"], entity: row["entity"], entityId: row["entityId"])
            }
            return page.page(entries, id: \.id)
        }
    }
}
