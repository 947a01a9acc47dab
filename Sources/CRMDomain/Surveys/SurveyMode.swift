import Foundation

/// How a survey response was captured. Scores are split by mode, never silently pooled.
public enum SurveyMode: String, Codable, CaseIterable, Sendable {
    /// At the bedside, on a ward tablet (入院24小时内床边探访).
    case bedside
    /// By phone, from the call center (出院72小时电话回访).
    case phone
    /// Through a link sent by SMS.
    case sms
    /// At a kiosk in the hospital.
    case kiosk
}
