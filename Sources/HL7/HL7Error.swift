/// Why a message could not be read. Messages name positions and codes, never field contents,
/// so they can go into logs and ACKs without patient data.
public struct HL7Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// The HL7 error code (table 0357) an ACK's ERR-3 carries.
    public enum Code: String, Sendable {
        /// 100: segment sequence error (no MSH first, a required segment missing).
        case segmentSequence = "100"
        /// 101: required field missing.
        case requiredFieldMissing = "101"
        /// 102: data type error (a date that is not a date, a bad character set).
        case dataType = "102"
        /// 103: table value not found (an unmapped code).
        case tableValueNotFound = "103"
        /// 200: unsupported message type.
        case unsupportedMessageType = "200"
        /// 201: unsupported event code.
        case unsupportedEventCode = "201"
        /// 203: unsupported version id.
        case unsupportedVersion = "203"
        /// 204: unknown key identifier (a visit or patient this node does not know).
        case unknownKey = "204"
        /// 207: application internal error.
        case applicationError = "207"

        /// The text HL7 table 0357 gives the code.
        public var label: String {
            switch self {
            case .segmentSequence: "Segment sequence error"
            case .requiredFieldMissing: "Required field missing"
            case .dataType: "Data type error"
            case .tableValueNotFound: "Table value not found"
            case .unsupportedMessageType: "Unsupported message type"
            case .unsupportedEventCode: "Unsupported event code"
            case .unsupportedVersion: "Unsupported version id"
            case .unknownKey: "Unknown key identifier"
            case .applicationError: "Application internal error"
            }
        }
    }

    public var code: Code
    /// Where, as `SEG^field` (e.g. `PV1^3`), when one field is to blame.
    public var location: String?
    /// What is wrong, for the sender's integration engineer: no patient data.
    public var message: String

    public init(_ code: Code, _ message: String, at location: String? = nil) {
        self.code = code
        self.message = message
        self.location = location
    }

    public var description: String { location.map { "\(message) (\($0))" } ?? message }
}
