import CRMDomain
import Foundation
import HL7
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import TestSupport
import Testing

@testable import NodeHTTP
@testable import NodeRuntime

#if canImport(Glibc)
import Glibc
#endif

/// The MLLP listener's gate (allowed addresses, message size) and the admin's HIS page.
@Suite("HIS feed on a node", .serialized)
struct HISFeedNodeTests {
    static let a28 = Array("MSH|^~\\&|HISAPP|HOSP|SF|C|20261201090000||ADT^A28^ADT_A05|N1|P|2.5\rPID|1||P1^^^HIS^PI||张^三\r".utf8)

    /// Runs an MLLP listener on a free loopback port for `body`.
    static func withListener(_ runtime: NodeRuntime, _ policy: MLLPPolicy, _ body: (Int) async throws -> Void) async throws {
        let port = Mutex<Int?>(nil)
        let listener = try MLLPListener(
            runtime: runtime, endpoint: try Endpoint("127.0.0.1:0"), policy: policy,
            onListening: { address in port.withLock { $0 = Int(address.split(separator: ":").last ?? "") } })
        let task = Task { try await listener.run() }
        defer { task.cancel() }
        let deadline = Date().addingTimeInterval(60)
        while port.withLock({ $0 }) == nil, Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        try await body(try #require(port.withLock { $0 }))
    }

    /// Reads one framed reply, or nil when the connection closes or `seconds` pass first.
    static func reply(_ connection: ListenerHardeningTests.RawConnection, within seconds: Double = 30) async -> String? {
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(seconds)
        var poller = pollfd(fd: connection.descriptor, events: Int16(POLLIN), revents: 0)
        while Date() < deadline {
            if poll(&poller, 1, 0) > 0 {
                var buffer = [UInt8](repeating: 0, count: 4096)
                let count = recv(connection.descriptor, &buffer, buffer.count, 0)
                if count <= 0 { return nil }
                received += buffer.prefix(count)
                if received.suffix(2) == [0x1C, 0x0D] { return String(decoding: received.dropFirst().dropLast(2), as: UTF8.self) }
            } else {
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        return nil
    }

    @Test func onlyAllowedAddressesAreAnsweredAndAnOversizedMessageIsRefusedAndCut() async throws {
        try await APITests.withNode { runtime, _ in
            try await Self.withListener(runtime, MLLPPolicy(allowedHosts: ["10.20.30.40"])) { port in
                let stranger = try ListenerHardeningTests.RawConnection(port: port)
                stranger.send([0x0B] + Self.a28 + [0x1C, 0x0D])
                #expect(await stranger.closedByPeer(within: 30))
                let kept = try? await runtime.crm.patients.patient("his-P1")
                #expect(kept == nil, "nothing from an address not allowed is applied")
            }
            var policy = MLLPPolicy(allowedHosts: ["127.0.0.1"])
            policy.maximumMessageBytes = 1_000
            try await Self.withListener(runtime, policy) { port in
                let engine = try ListenerHardeningTests.RawConnection(port: port)
                engine.send(MLLPFrame.wrap(Self.a28))
                let ack = await Self.reply(engine)
                #expect(ack?.contains("MSA|AA|N1") == true, "\(ack ?? "no reply")")
                #expect(try await runtime.crm.patients.patient("his-P1").name == "张三")
                engine.send([0x0B] + Array("MSH|^~\\&|HISAPP|HOSP|SF|C|20261201||ADT^A08|BIG|P|2.5\rNTE|".utf8) + [UInt8](repeating: 0x41, count: 2_000))
                let refusal = await Self.reply(engine)
                #expect(refusal?.contains("MSA|AR|BIG") == true, "\(refusal ?? "no reply")")
                #expect(await engine.closedByPeer(within: 30))
            }
        }
    }

    @Test func aListenerOffLoopbackNeedsAllowedAddresses() async throws {
        try await APITests.withNode { runtime, _ in
            #expect(throws: NodeSetupError.self) {
                try MLLPListener(runtime: runtime, endpoint: try Endpoint("0.0.0.0:2575"), policy: MLLPPolicy(allowedHosts: nil), onListening: { _ in })
            }
            #expect(throws: NodeSetupError.self) {
                try MLLPListener(runtime: runtime, endpoint: try Endpoint("0.0.0.0:2575"), policy: MLLPPolicy(allowedHosts: []), onListening: { _ in })
            }
            _ = try MLLPListener(runtime: runtime, endpoint: try Endpoint("0.0.0.0:2575"), policy: MLLPPolicy(allowedHosts: ["10.0.0.5"]), onListening: { _ in })
        }
    }

    @Test func anAdminMapsCodesAndReplaysARefusedMessageOnThePage() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            for (kind, id, name) in [(ReferenceKind.department, "D-CARD", "心内科"), (.ward, "W-CARD", "心内一病区")] {
                try await crm.organisation.saveReference(.system, kind, ReferenceItem(id: id, name: name, departmentId: kind == .ward ? "D-CARD" : nil))
            }
            // PV1-3 ward 5B, PV1-19 visit V7.
            let pv1 = "PV1|1|I|5B^1^1" + String(repeating: "|", count: 16) + "V7"
            let message = Array("MSH|^~\\&|HISAPP|HOSP|SF|C|20261201090000||ADT^A01^ADT_A01|W1|P|2.5\rPID|1||P7^^^HIS^PI||王^五\r\(pv1)\r".utf8)
            let receipt = await crm.his.receive(message)
            #expect(receipt.acknowledgement.code == .error, "\(String(decoding: receipt.ack, as: UTF8.self))")

            let admin = try await WebArchiveAndChartTests.logIn(client, "admin")
            func post(_ path: String, _ body: String) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(
                    uri: path, method: .post, headers: [.cookie: admin, .contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: WebArchiveAndChartTests.withToken(body, admin))
                ) { ($0.status, $0.headers[.location] ?? String(buffer: $0.body)) }
            }
            var page = try await client.execute(uri: "/his", method: .get, headers: [.cookie: admin]) { String(buffer: $0.body) }
            #expect(page.contains("未能应用的消息 (1)") && page.contains("unmapped ward code &#39;5B&#39;"), "\(page)")
            #expect(!page.contains("王"), "the queue shows codes and reasons, not the patient")
            #expect(try await post("/his/codes", "kind=ward&code=5B&targetId=W-CARD").0 == .seeOther)
            page = try await client.execute(uri: "/his", method: .get, headers: [.cookie: admin]) { String(buffer: $0.body) }
            #expect(page.contains("<td>5B</td>") && page.contains("心内一病区 (W-CARD)"))
            let id = try #require(try await crm.his.refused(.system).first?.id)
            let (status, location) = try await post("/his/refused/\(id)/replay", "")
            #expect(status == .seeOther && location.contains("replayed=AA"))
            #expect(try await crm.patients.patient("his-P7").name == "王五")
            #expect(try await post("/his/codes/ward/5B/remove", "").0 == .seeOther)
            #expect(try await crm.his.codes(.system).isEmpty)
            // Managers neither see nor change the feed.
            let manager = try await WebArchiveAndChartTests.logIn(client, "manager")
            let refused = try await client.execute(uri: "/his", method: .get, headers: [.cookie: manager]) { $0.status }
            #expect(refused == .forbidden || refused == .seeOther)
        }
    }
}

/// MLLP framing for raw test connections.
enum MLLPFrame {
    static func wrap(_ message: [UInt8]) -> [UInt8] { [0x0B] + message + [0x1C, 0x0D] }
}
