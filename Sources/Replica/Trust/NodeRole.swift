/// What a node does in the hospital.
public enum NodeRole: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// The patient-relationship centre: the archive, the cluster key, enrolment and revocation.
    case central = 1
    /// A ward gateway serving bedside tablets.
    case ward = 2
    /// A call-center site.
    case callcenter = 3

    /// Parses `central`, `ward` or `callcenter`.
    public init?(name: String) {
        guard let role = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = role
    }

    public var description: String {
        switch self {
        case .central: "central"
        case .ward: "ward"
        case .callcenter: "callcenter"
        }
    }
}
