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
    /// The contact person (联系人) and their number.
    public var contactName: String?
    public var contactPhone: String?

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
        contactName = row["contactName"]
        contactPhone = row["contactPhone"]
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
    /// The contact person (联系人); empty clears it.
    public var contactName: String?
    /// Their number; empty clears it.
    public var contactPhone: String?

    public init(
        name: String? = nil, gender: String? = nil, birthDate: String? = nil, idNumber: String? = nil, phone: String? = nil,
        address: String? = nil, region: String? = nil, category: String? = nil, tags: [String]? = nil, firstVisit: String? = nil,
        contactName: String? = nil, contactPhone: String? = nil
    ) {
        self.contactName = contactName
        self.contactPhone = contactPhone
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

    /// A phone number as stored: normalised, or `.some(nil)` (cleared) when empty.
    private static func phoneField(_ text: String, named field: String) throws(CRMError) -> String?? {
        guard !text.isEmpty else { return .some(nil) }
        guard let normalized = PhoneNumber.normalize(text) else { throw .unprocessable("\(field) is not a phone number") }
        return normalized
    }

    /// Checks and normalises the fields; errors name the field, never its value.
    func validated(time: LocalTime) throws(CRMError) -> PatientFields {
        var fields = PatientFields()
        if let name {
            guard let trimmed = PlainText.line(name, maximum: 50) else { throw .invalid("name must be 1–50 characters on one line") }
            fields.name = trimmed
        }
        if let gender {
            guard ["male", "female", "unknown"].contains(gender) else { throw .invalid("gender must be male, female or unknown") }
            fields.gender = gender
        }
        if let birthDate {
            guard time.isDay(birthDate) else { throw .invalid("birthDate must be yyyy-MM-dd") }
            fields.birthDate = birthDate
        }
        if let idNumber {
            let upper = idNumber.uppercased()
            guard upper.isEmpty || ASCIIIdentifier(letters: .uppercase, punctuation: "", length: 6...20).admits(upper) else {
                throw .invalid("idNumber must be 6–20 letters or digits")
            }
            fields.idNumber = .some(upper.isEmpty ? nil : upper)
        }
        if let phone { fields.phone = try Self.phoneField(phone, named: "phone") }
        if let address {
            guard address.count <= 200 else { throw .invalid("address must be at most 200 characters") }
            fields.address = address
        }
        for (field, value) in [("region", region), ("category", category)] {
            if let value, value.count > 50 { throw .invalid("\(field) must be at most 50 characters") }
        }
        if let region { fields.region = region }
        if let category { fields.category = category }
        if let firstVisit {
            guard time.isDay(firstVisit) else { throw .invalid("firstVisit must be yyyy-MM-dd") }
            fields.firstVisit = firstVisit
        }
        if let contactName {
            if contactName.trimmingCharacters(in: .whitespaces).isEmpty {
                fields.contactName = .some(nil)
            } else {
                guard let trimmed = PlainText.line(contactName, maximum: 50) else { throw .invalid("contactName must be 1–50 characters on one line") }
                fields.contactName = trimmed
            }
        }
        if let contactPhone { fields.contactPhone = try Self.phoneField(contactPhone, named: "contactPhone") }
        if let tags {
            guard tags.count <= 20, tags.allSatisfy({ !$0.isEmpty && $0.count <= 20 }) else { throw .invalid("tags: at most 20, each 1–20 characters") }
        }
        return fields
    }
}

/// A patient's checked card fields: for each, nil leaves the stored value alone and `.some(nil)`
/// clears it (an empty phone or ID number).
struct PatientFields: Sendable {
    var name: String??
    var gender: String??
    var birthDate: String??
    var idNumber: String??
    var phone: String??
    var address: String??
    var region: String??
    var category: String??
    var firstVisit: String??
    var contactName: String??
    var contactPhone: String??

    /// The columns an edit writes.
    var changedColumns: [PatientRecord.Columns: (any DatabaseValueConvertible)?] {
        let all: [(PatientRecord.Columns, String??)] = [
            (.name, name), (.gender, gender), (.birthDate, birthDate), (.idNumber, idNumber), (.phone, phone),
            (.address, address), (.region, region), (.category, category), (.firstVisit, firstVisit),
            (.contactName, contactName), (.contactPhone, contactPhone),
        ]
        return Dictionary(uniqueKeysWithValues: all.compactMap { column, value in value.map { (column, $0 as (any DatabaseValueConvertible)?) } })
    }

    /// The row of a new archive with these fields.
    func record(id: String?, tags: [String], createdAt: String) -> PatientRecord {
        PatientRecord(
            id: id, name: name ?? nil, gender: gender ?? nil, birthDate: birthDate ?? nil, idNumber: idNumber ?? nil, phone: phone ?? nil,
            address: address ?? nil, region: region ?? nil, category: category ?? nil, tags: SetCodec.text(tags),
            firstVisit: firstVisit ?? nil, createdAt: createdAt, contactName: contactName ?? nil, contactPhone: contactPhone ?? nil)
    }
}
