import Foundation

/// One message handed to a gateway.
public struct OutgoingSMS: Sendable, Hashable {
    public var messageId: String
    public var phone: String
    public var body: String
}

/// What a gateway said about a message it took.
public struct GatewayReceipt: Sendable, Hashable {
    /// The gateway's reference, matched by later delivery reports.
    public var reference: String
    /// Whether delivery is already known (a file gateway "delivers" at once); nil until a report comes.
    public var delivered: Bool?

    public init(reference: String, delivered: Bool?) {
        self.reference = reference
        self.delivered = delivered
    }
}

/// Delivers SMS: Kannel (`KannelSMSGateway`, the hospital's SMS centre) or, for the demo only,
/// ``FileSMSGateway``.
public protocol SMSGateway: Sendable {
    /// Sends one message; throws ``SMSGatewayError`` when the gateway refuses it.
    func send(_ message: OutgoingSMS) async throws -> GatewayReceipt
}

/// Why a gateway did not take a message.
public struct SMSGatewayError: Error, Sendable, CustomStringConvertible {
    public var reason: String
    /// The gateway could not be reached or was busy: the message is tried again later (with
    /// back-off). Otherwise it refused the message, which fails at once.
    public var transient: Bool
    /// The gateway may have taken the message (a timeout or a lost answer after the request went
    /// out): it is neither retried nor failed; its delivery report, or the settling of
    /// interrupted sends, decides.
    public var outcomeUnknown: Bool
    public init(reason: String, transient: Bool = false, outcomeUnknown: Bool = false) {
        self.reason = reason
        self.transient = transient
        self.outcomeUnknown = outcomeUnknown
    }
    public var description: String { reason }
}

/// A gateway that appends each message as a JSON line to a file (the demo's "phone network"). It
/// claims no delivery: its messages stay `sent`.
public final class FileSMSGateway: SMSGateway {
    private let path: String
    private let lock = NSLock()

    public init(path: String) {
        self.path = path
    }

    public func send(_ message: OutgoingSMS) throws -> GatewayReceipt {
        struct Line: Encodable { var id: String; var to: String; var body: String }
        var data = try JSONEncoder().encode(Line(id: message.messageId, to: message.phone, body: message.body))
        data.append(0x0A)
        try lock.withLock {
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                    throw SMSGatewayError(reason: "cannot create the outbox file")
                }
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: data)
        }
        return GatewayReceipt(reference: "file-" + message.messageId, delivered: nil)
    }
}
