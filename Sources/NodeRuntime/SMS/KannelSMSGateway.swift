import AsyncHTTPClient
import CRMDomain
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// How central reaches Kannel's smsbox, and how Kannel reaches central back (node.json `sms`).
package struct KannelConfiguration: Codable, Sendable, Equatable {
    /// smsbox's `sendsms` URL, e.g. `http://10.1.2.40:13013/cgi-bin/sendsms`.
    package var sendsmsURL: String
    /// The `sendsms-user` group's username.
    package var username: String
    /// A file holding its password (mode 0600), never the password itself.
    package var passwordFile: String
    /// The sender number or service code shown on phones (`from`); Kannel's default when absent.
    package var from: String?
    /// Where Kannel reaches this node's API, e.g. `https://central.hospital.lan:8080`: delivery
    /// reports go to `<callbackURL>/api/sms/kannel/dlr`.
    package var callbackURL: String
    /// A file holding a machine credential of scope `sms-gateway` (`suifang token create`), which
    /// Kannel sends back in the report's URL (Kannel cannot add headers to a `dlr-url`).
    package var callbackTokenFile: String

    package init(sendsmsURL: String, username: String, passwordFile: String, from: String?, callbackURL: String, callbackTokenFile: String) {
        self.sendsmsURL = sendsmsURL
        self.username = username
        self.passwordFile = passwordFile
        self.from = from
        self.callbackURL = callbackURL
        self.callbackTokenFile = callbackTokenFile
    }
}

/// The hospital's SMS centre through Kannel's HTTP interface: `sendsms` with a `dlr-url` naming
/// the message, so every delivery report finds its message even when the node stopped before it
/// recorded Kannel's answer. Unreachable or busy (connection errors, 5xx, timeouts) is transient
/// (tried again with back-off by the dispatcher); a refusal (4xx: bad credentials, a number
/// Kannel will not take) fails the message.
package final class KannelSMSGateway: SMSGateway {
    /// Delivery success (1), failure (2), buffered (4), taken by the SMSC (8), refused by it (16).
    static let dlrMask = 31
    package let configuration: KannelConfiguration
    private let password: String
    private let callbackToken: String
    private let client: HTTPClient
    private let timeout: TimeAmount

    /// - Throws: ``NodeSetupError`` when a secret file cannot be read or a URL is not http(s).
    package init(configuration: KannelConfiguration, client: HTTPClient, timeout: TimeAmount = .seconds(10)) throws {
        func secret(_ path: String, _ what: String) throws -> String {
            guard let data = FileManager.default.contents(atPath: path) else { throw NodeSetupError("cannot read \(what) from \(path)") }
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { throw NodeSetupError("\(path) is empty; it should hold \(what)") }
            return text
        }
        for url in [configuration.sendsmsURL, configuration.callbackURL] {
            guard let scheme = URL(string: url)?.scheme, ["http", "https"].contains(scheme) else {
                throw NodeSetupError("sms: '\(url)' is not an http or https URL")
            }
        }
        self.configuration = configuration
        self.password = try secret(configuration.passwordFile, "Kannel's sendsms password")
        self.callbackToken = try secret(configuration.callbackTokenFile, "a machine credential of scope sms-gateway")
        self.client = client
        self.timeout = timeout
    }

    package func send(_ message: OutgoingSMS) async throws -> GatewayReceipt {
        let request = HTTPClientRequest(url: sendURL(message))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: timeout)
        } catch {
            // Kannel never had the request when the connection could not be made; afterwards
            // (a timeout, a reset) it may have queued it, and sendsms is not idempotent.
            if Self.failedBeforeSending(error) {
                throw SMSGatewayError(reason: "Kannel unreachable (\(Self.describe(error)))", transient: true)
            }
            throw SMSGatewayError(reason: "no answer from Kannel (\(Self.describe(error)))", outcomeUnknown: true)
        }
        // Kannel answers 202 "0: Accepted for delivery" or "3: Queued for later delivery".
        let body = (try? await response.body.collect(upTo: 4_096)).map { String(buffer: $0) } ?? ""
        let summary = String(body.split(whereSeparator: \.isNewline).first ?? "").prefix(120)
        switch response.status.code {
        case 200..<300: return GatewayReceipt(reference: message.messageId, delivered: nil)
        case 500..<600: throw SMSGatewayError(reason: "Kannel could not take it: \(response.status.code) \(summary)", transient: true)
        default: throw SMSGatewayError(reason: "Kannel refused it: \(response.status.code) \(summary)")
        }
    }

    /// Whether `error` came before the request reached Kannel: no connection was made.
    static func failedBeforeSending(_ error: any Error) -> Bool {
        if let error = error as? HTTPClientError, error == .connectTimeout { return true }
        if let error = error as? IOError, [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, ECONNABORTED].contains(error.errnoCode) { return true }
        if error is NIOConnectionError { return true }
        if let error = error as? ChannelError, case .connectTimeout = error { return true }
        return false
    }

    /// The `sendsms` request: UTF-8 text, UCS-2 on the air when it is not all ASCII (Chinese
    /// needs it), a `dlr-url` back to this node with the message's id and Kannel's escapes.
    func sendURL(_ message: OutgoingSMS) -> String {
        let report =
            configuration.callbackURL.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/api/sms/kannel/dlr?token="
            + Self.encode(callbackToken) + "&id=" + Self.encode(message.messageId) + "&type=%d&reason=%A"
        var query: [(String, String)] = [
            ("username", configuration.username), ("password", password), ("to", message.phone), ("text", message.body),
            ("charset", "UTF-8"), ("coding", message.body.allSatisfy(\.isASCII) ? "0" : "2"),
            ("dlr-mask", String(Self.dlrMask)), ("dlr-url", report),
        ]
        if let from = configuration.from { query.append(("from", from)) }
        let separator = configuration.sendsmsURL.contains("?") ? "&" : "?"
        return configuration.sendsmsURL + separator + query.map { "\($0.0)=\(Self.encode($0.1))" }.joined(separator: "&")
    }

    /// Percent-encodes everything but unreserved characters (`+` would read as a space).
    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? ""
    }

    /// An error's kind, without the request (its URL holds the password and the text).
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return "\(error)".prefix(80).description }
        return String(describing: type(of: error))
    }
}

/// What a Kannel delivery report's type (`%d`) means for a message.
package enum KannelReport {
    /// delivered: true (1), false (2 or 16, with Kannel's reason), nil (4 buffered or 8 taken by
    /// the SMS centre: sent, not yet delivered); nil for a type Kannel does not define.
    package static func outcome(type: Int) -> Bool?? {
        switch type {
        case 1: .some(true)
        case 2, 16: .some(false)
        case 4, 8: .some(nil)
        default: nil
        }
    }
}
