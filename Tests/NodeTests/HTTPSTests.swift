import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import TestSupport
import Testing

@testable import NodeHTTP
@testable import NodeRuntime
@testable import Testnets

/// The web UI and API over HTTPS: a node's certificate, issued by the hospital CA for its names,
/// verifies for a tablet that trusts only that CA; plain HTTP is refused off loopback.
@Suite("HTTPS to the tablets")
struct HTTPSTests {
    @Test func aNodeServesHTTPSThatATabletTrustingTheHospitalCAVerifies() async throws {
        try await APITests.withNode { runtime, _ in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("https-\(UUID())")
            defer { try? FileManager.default.removeItem(at: directory) }
            let central = NodeDirectory(directory.path)
            try central.createCentral(name: "central", NodeSetup(listen: "127.0.0.1:0", policies: PolicyDirectory(NodeNetworkTests.policies)))
            let certificate = try #require(try central.httpCertificate())
            let port = try await TestnetRunner.freePort()
            let app = try buildHTTPApplication(
                runtime: runtime, configuration: try central.configuration(), endpoint: try Endpoint("127.0.0.1:\(port)"),
                transport: .tls(certificate), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
            let server = Task { try await app.runService() }
            defer { server.cancel() }
            let authority = String(decoding: try central.read(NodeDirectory.authorityCertificateFile), as: UTF8.self)
            let tablet = try HTTPSProbe(authorityPEM: authority)
            var answer: (status: Int, head: String)?
            let deadline = Date().addingTimeInterval(60)
            while answer == nil, Date() < deadline {
                answer = try? await tablet.head(port: port, path: "/api/health")
                if answer == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            let (status, head) = try #require(answer)
            #expect(status == 200)
            #expect(head.lowercased().contains("strict-transport-security: max-age=31536000"), "\(head)")
            #expect((try? await tablet.status(host: "localhost", port: port, path: "/api/health")) == 200, "the certificate names localhost")

            // A tablet that trusts another CA (an impostor's, or none of ours) refuses the node.
            let impostor = try HospitalCA.create(name: "impostor")
            let stranger = try HTTPSProbe(authorityPEM: try impostor.certificatePEM)
            await #expect(throws: (any Error).self) { _ = try await stranger.status(port: port, path: "/api/health") }

            // Plain HTTP to the HTTPS port gets no answer.
            let plain = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
            var received = ""
            try? await plain.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"))
                for try await chunk in inbound { received += String(buffer: chunk) }
            }
            #expect(!received.contains("200 OK"), "plain HTTP answered on the HTTPS port")
        }
    }

    @Test func aNodeWithoutACertificateServesPlainHTTPOnlyOnLoopbackOrWhenToldTo() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("https-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("central").path
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let initialised = try SuifangBinary.run([
            "init", "--role", "central", "--name", "central", "--dir", path, "--listen", "127.0.0.1:0", "--no-encryption",
            "--policies", RepositoryFiles.policiesDirectory.path,
        ])
        #expect(initialised.status == 0, "\(initialised.output)")
        try FileManager.default.removeItem(atPath: path + "/http.pem")
        let refused = try SuifangBinary.run(["serve", "--dir", path, "--http", "0.0.0.0:0"])
        #expect(refused.status != 0 && refused.output.contains("not loopback and the node has no HTTPS certificate"), "\(refused.output)")
    }
}
