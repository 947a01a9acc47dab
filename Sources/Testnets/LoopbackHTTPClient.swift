import Foundation
import NodeHTTP
import NodeRuntime

/// A minimal HTTP/1.1 client over one keep-alive TCP connection to loopback, for benchmarks:
/// it measures the server, not a client library. Handles `Content-Length` responses only.
package final class LoopbackHTTPClient {
    private let connection: LoopbackSocket

    package typealias Failure = LoopbackSocket.Failure

    package init(port: Int) throws {
        connection = try LoopbackSocket(port: port)
    }

    /// Sends a request and returns (status, body).
    package func request(_ method: String, _ path: String, body: String? = nil, token: String? = nil) throws -> (Int, String) {
        let payload = Array((body ?? "").utf8)
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(payload.count)\r\n"
        if body != nil { head += "Content-Type: application/json\r\n" }
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        try connection.send(Array((head + "\r\n").utf8) + payload)
        let header = String(decoding: try connection.read(until: [13, 10, 13, 10]), as: UTF8.self)
        let lines = header.split(separator: "\r\n")
        guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else {
            throw Failure(description: "malformed response")
        }
        let length =
            lines.first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        let content = try connection.read(length)
        return (status, String(decoding: content, as: UTF8.self))
    }
}
