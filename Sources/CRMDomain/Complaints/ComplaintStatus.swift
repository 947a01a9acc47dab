import Foundation

/// The complaint lifecycle (登记、受理、跟进、处理、终结). Status only moves forward; the order here
/// is the `lifecycle` declared for `complaint.status` in `conflict-policies/complaints.policy`.
public enum ComplaintStatus: String, Codable, CaseIterable, Sendable, Comparable {
    /// 登记: written down.
    case registered
    /// 受理: accepted by the patient-relationship centre.
    case accepted
    /// 跟进: being investigated with the responsible department.
    case investigating
    /// 处理: handled, answer given.
    case handled
    /// 终结: closed.
    case closed

    public static func < (lhs: ComplaintStatus, rhs: ComplaintStatus) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
