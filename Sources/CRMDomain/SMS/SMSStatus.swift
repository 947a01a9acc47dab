/// Where a text message stands (`smsMessage.status`): queued until the dispatcher hands it to the
/// gateway, then sent, delivered or failed; cancelled when its number opted out. A failed message
/// may be queued again (resend).
public enum SMSStatus: String, Codable, Sendable, CaseIterable {
    case queued, sent, delivered, failed, cancelled
}
