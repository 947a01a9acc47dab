import GRDB
import Replica

/// Rows of the hospital's reference lists, settings, accounts and number lists, as the policy
/// files declare them. Their ids are natural keys (a ward code, a user name, a phone number), so
/// they are saved with ``ReplicaTransaction/upsert(_:)``.

/// A department (`department`).
struct DepartmentRecord: ReplicatedRecord, Codable {
    static let databaseTableName = "department"
    var id: String?
    var name: String
    var code: String?
}

/// A ward of a department (`ward`).
struct WardRecord: ReplicatedRecord, Codable {
    static let databaseTableName = "ward"
    var id: String?
    var name: String
    var departmentId: String?
}

/// A doctor or nurse (`staff`).
struct StaffRecord: ReplicatedRecord, Codable {
    static let databaseTableName = "staff"
    var id: String?
    var name: String
    var departmentId: String?
    var title: String?
}

/// A disease of the hospital's list (`disease`).
struct DiseaseRecord: ReplicatedRecord, Codable {
    static let databaseTableName = "disease"
    var id: String?
    var name: String
}

/// A system parameter (`setting`); its id is the key.
struct SettingRecord: ReplicatedRecord, Codable {
    static let databaseTableName = "setting"
    var id: String?
    var value: String
}

/// A holiday or make-up working day (`calendarDay`); its id is the day.
struct CalendarDayRecord: ReplicatedRecord, Codable {
    static let databaseTableName = "calendarDay"
    var id: String?
    /// holiday | workday
    var kind: String
    var name: String
}

/// A staff account (`appUser`); its id is the lower-cased user name. Saved without a password
/// hash, an existing account keeps its own.
struct UserRecord: UpdatableRecord, Codable {
    static let databaseTableName = "appUser"
    var id: String?
    var displayName: String
    var role: String
    var passwordHash: String?
    var wardId: String?
    var staffId: String?
    var disabled: Int
    enum CodingKeys: String, CodingKey {
        case id, displayName, role, passwordHash, wardId, staffId, disabled
    }
    typealias Columns = CodingKeys
}

/// A number on the call center's blacklist (`blacklist`); its id is the normalised number.
struct BlacklistRecord: ReplicatedRecord, Codable {
    static let databaseTableName = "blacklist"
    var id: String?
    var reason: String?
    var active: Int
    var userId: String
    var at: String
}

/// A number that opted out of SMS (`smsOptOut`); its id is the normalised number.
struct SMSOptOutRecord: ReplicatedRecord, Codable {
    static let databaseTableName = "smsOptOut"
    var id: String?
    var active: Int
    /// reply | staff
    var source: String
    var at: String
}

/// An SMS template (`smsTemplate`).
struct SMSTemplateRecord: ReplicatedRecord, Codable {
    static let databaseTableName = "smsTemplate"
    var id: String?
    var name: String
    var kind: String
    var body: String
}

/// A revoked node (`revokedNode`, append-only); its id is the node id.
struct RevokedNodeRecord: ReplicatedRecord, Codable {
    static let databaseTableName = "revokedNode"
    var id: String?
    var name: String?
    var revokedAt: String
    var revokedBy: String
    /// The last of its commits every node still accepts (``Replica/revocationCutoffColumn``).
    var acceptedUpTo: Int64
}
