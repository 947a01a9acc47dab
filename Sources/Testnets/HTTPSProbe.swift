import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Asks a node's HTTPS API one question the way a tablet would: TLS verified against the hospital
/// CA's certificate (only), then `GET path`. The demo waits for its nodes with it.
package struct HTTPSProbe {
    let context: NIOSSLContext

    /// - Parameter authorityPEM: the hospital CA's certificate (`ca.pem`), the one trust root.
    package init(authorityPEM: String) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(authorityPEM.utf8)))
        configuration.certificateVerification = .fullVerification
        context = try NIOSSLContext(configuration: configuration)
    }

    /// The status code of `GET path` at `https://host:port`, verified for `host`.
    package func status(host: String = "127.0.0.1", port: Int, path: String) async throws -> Int {
        try await head(host: host, port: port, path: path).status
    }

    /// The status code and the response head (status line and headers) of `GET path`.
    package func head(host: String = "127.0.0.1", port: Int, path: String) async throws -> (status: Int, head: String) {
        let context = self.context
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: host.first?.isNumber == true ? nil : host))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        var response = ""
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n\r\n"))
            do {
                for try await chunk in inbound {
                    response += String(buffer: chunk)
                    if response.contains("\r\n\r\n") { break }
                }
            } catch let error as NIOSSLError where error == .uncleanShutdown {
                // The server closed after answering: what came is the answer.
            }
        }
        guard let line = response.split(separator: "\r\n").first, let code = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw NodeProbeError("no HTTP answer on port \(port)")
        }
        return (code, String(response.split(separator: "\r\n\r\n").first ?? ""))
    }
}

/// A probe that got no answer.
package struct NodeProbeError: Error, CustomStringConvertible {
    package let description: String
    init(_ description: String) { self.description = description }
}
