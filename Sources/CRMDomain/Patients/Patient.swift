import Foundation
import GRDB
import Replica

/// A patient's archive card (客户健康档案).
public struct Patient: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var gender: String?
    public var birthDate: String?
    public var idNumber: String?
    public var phone: String?
    public var address: String?
    public var region: String?
    public var category: String?
    public var tags: [String]
    public var firstVisit: String?
    public var createdAt: String?

    init(row: Row) {
        id = row["id"]
        name = row["name"] ?? ""
        gender = row["gender"]
        birthDate = row["birthDate"]
        idNumber = row["idNumber"]
        phone = row["phone"]
        address = row["address"]
        region = row["region"]
        category = row["category"]
        tags = SetCodec.decode(row["tags"] as DatabaseValue) ?? []
        firstVisit = row["firstVisit"]
        createdAt = row["createdAt"]
    }
}

/// What a caller may set on a patient. Nil fields are left as they are on an edit.
public struct PatientInput: Codable, Sendable {
    public var name: String?
    public var gender: String?
    public var birthDate: String?
    public var idNumber: String?
    public var phone: String?
    public var address: String?
    public var region: String?
    public var category: String?
    public var tags: [String]?
    public var firstVisit: String?

    public init(
        name: String? = nil, gender: String? = nil, birthDate: String? = nil, idNumber: String? = nil, phone: String? = nil,
        address: String? = nil, region: String? = nil, category: String? = nil, tags: [String]? = nil, firstVisit: String? = nil
    ) {
        self.name = name
        self.gender = gender
        self.birthDate = birthDate
        self.idNumber = idNumber
        self.phone = phone
        self.address = address
        self.region = region
        self.category = category
        self.tags = tags
        self.firstVisit = firstVisit
    }

    /// Checks and normalises the fields; errors name the field, never its value.
    func validated(time: LocalTime) throws(CRMError) -> [String: (any DatabaseValueConvertible)?] {
        var values: [String: (any DatabaseValueConvertible)?] = [:]
        if let name {
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, trimmed.count <= 50 else { throw .invalid("name must be 1–50 characters") }
            values["name"] = trimmed
        }
        if let gender {
            guard ["male", "female", "unknown"].contains(gender) else { throw .invalid("gender must be male, female or unknown") }
            values["gender"] = gender
        }
        if let birthDate {
            guard time.isDay(birthDate) else { throw .invalid("birthDate must be yyyy-MM-dd") }
            values["birthDate"] = birthDate
        }
        if let idNumber {
            let upper = idNumber.uppercased()
            guard upper.isEmpty || upper.range(of: "^[0-9A-Z]{6,20}$", options: .regularExpression) != nil else {
                throw .invalid("idNumber must be 6–20 letters or digits")
            }
            values["idNumber"] = upper.isEmpty ? nil : upper
        }
        if let phone {
            if phone.isEmpty {
                values["phone"] = nil
            } else {
                guard let normalized = PhoneNumber.normalize(phone) else { throw .invalid("phone is not a phone number") }
                values["phone"] = normalized
            }
        }
        if let address {
            guard address.count <= 200 else { throw .invalid("address must be at most 200 characters") }
            values["address"] = address
        }
        for (field, value) in [("region", region), ("category", category)] {
            if let value {
                guard value.count <= 50 else { throw .invalid("\(field) must be at most 50 characters") }
                values[field] = value
            }
        }
        if let firstVisit {
            guard time.isDay(firstVisit) else { throw .invalid("firstVisit must be yyyy-MM-dd") }
            values["firstVisit"] = firstVisit
        }
        if let tags {
            guard tags.count <= 20, tags.allSatisfy({ !$0.isEmpty && $0.count <= 20 }) else { throw .invalid("tags: at most 20, each 1–20 characters") }
        }
        return values
    }
}
