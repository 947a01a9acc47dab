import Foundation

/// What a user may do. Each API call names the roles allowed to make it.
public enum Role: String, Codable, CaseIterable, Sendable {
    /// 床边探访: a bedside visitor on a ward tablet.
    case visitor
    /// 客服坐席: a call-center agent.
    case agent
    /// 管理者: a manager at the patient-relationship centre.
    case manager
    /// 系统管理员: accounts, organisation, parameters.
    case admin
}

/// Who makes a call: recorded in the audit trail and on the records it writes.
public struct Caller: Hashable, Sendable, Codable {
    public var userId: String
    public var role: Role
    public var wardId: String?

    public init(userId: String, role: Role, wardId: String? = nil) {
        self.userId = userId
        self.role = role
        self.wardId = wardId
    }

    /// The node itself (imports, rule runs, the SMS dispatcher).
    public static let system = Caller(userId: "system", role: .admin)

    /// Refuses unless the caller has one of `roles`.
    public func require(_ roles: Role...) throws(CRMError) {
        guard roles.contains(role) else {
            throw CRMError(.forbidden, "role '\(role.rawValue)' may not do this (allowed: \(roles.map(\.rawValue).joined(separator: ", ")))")
        }
    }
}
