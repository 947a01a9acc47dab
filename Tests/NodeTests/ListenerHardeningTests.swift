import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import Replica
import SyncProtocol
import TestSupport
import Testing

@testable import Benchmarks
@testable import NodeHTTP
@testable import NodeRuntime
@testable import Testnets

#if canImport(Glibc)
import Glibc
#endif

/// The sync listener under connections that never authenticate: caps and deadlines, over real TCP.
@Suite("Listener hardening", .serialized)
struct ListenerHardeningTests {
    /// A raw TCP connection to a loopback port (no protocol at all).
    final class RawConnection {
        let descriptor: Int32

        init(port: Int) throws {
            descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            // deinit closes the descriptor, also when this init throws (closing it here too would close another's).
            guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
        }

        deinit { close(descriptor) }

        func send(_ bytes: [UInt8]) {
            _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }

        /// Whether the listener closed the connection within `seconds` (polls without blocking the
        /// test's thread, so the listener's own timers keep running).
        func closedByPeer(within seconds: Double) async -> Bool {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let deadline = Date().addingTimeInterval(seconds)
            repeat {
                if poll(&poller, 1, 0) > 0 {
                    var byte: UInt8 = 0
                    if recv(descriptor, &byte, 1, 0) <= 0 { return true }
                }
                try? await Task.sleep(for: .milliseconds(20))
            } while Date() < deadline
            return false
        }
    }

    struct Listening {
        let directory: URL
        let runtime: NodeRuntime
        let port: Int
        let task: Task<Void, any Error>
        let listener: SyncListener

        func stop() {
            task.cancel()
            try? FileManager.default.removeItem(at: directory)
        }
    }

    func startCentral(_ limits: ListenerLimits) async throws -> Listening {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("listener-tests-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let central = directory.appendingPathComponent("central").path
        let port = try await TestnetRunner.freePort()
        try NodeDirectory(central).createCentral(name: "central", NodeSetup(listen: "127.0.0.1:\(port)", policies: PolicyDirectory(NodeNetworkTests.policies)))
        let (_, _, runtime) = try NodeRuntime.open(directory: central, logger: quietLogger)
        let listener = SyncListener(runtime: runtime, endpoint: try Endpoint("127.0.0.1:\(port)"), limits: limits, onListening: { _ in })
        let task = Task { try await listener.run() }
        for _ in 0..<100 {
            if (try? RawConnection(port: port)) != nil { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .milliseconds(100))
        return Listening(directory: directory, runtime: runtime, port: port, task: task, listener: listener)
    }

    @Test func aPeerThatNeverFinishesTheHandshakeIsCutOffAtTheDeadline() async throws {
        let central = try await startCentral(ListenerLimits(perAddress: 8, total: 64, handshakeDeadline: .milliseconds(500)))
        defer { central.stop() }
        let silent = try RawConnection(port: central.port)
        let slow = try RawConnection(port: central.port)
        slow.send([0, 0, 0, 200, 83, 70])  // the start of a hello, then nothing more
        #expect(await silent.closedByPeer(within: 30))
        #expect(await slow.closedByPeer(within: 30))
    }

    @Test func aHandshakeFrameOverTheSmallLimitIsRefusedBeforeItIsBuffered() async throws {
        let central = try await startCentral(ListenerLimits())
        defer { central.stop() }
        let greedy = try RawConnection(port: central.port)
        greedy.send([0x01, 0x00, 0x00, 0x00])  // announces a 16 MiB frame before authenticating
        #expect(await greedy.closedByPeer(within: 30))
    }

    @Test func connectionsBeyondTheCapsAreClosedAtOnceAndTheListenerKeepsServing() async throws {
        // A handshake deadline far off: only the caps close connections here, however slow the machine.
        let central = try await startCentral(ListenerLimits(perAddress: 4, total: 64, handshakeDeadline: .seconds(60)))
        defer { central.stop() }
        var idle: [RawConnection] = []
        for _ in 0..<200 { idle.append(try RawConnection(port: central.port)) }
        // Never more than the cap open at once, while the listener works through the 200.
        for _ in 0..<10 {
            #expect(central.listener.guardian.openConnections <= 4)
            try await Task.sleep(for: .milliseconds(100))
        }
        // Over the cap: closed as they are accepted, long before the handshake deadline (the few the
        // listener holds, and those the kernel's backlog still holds, depend on the machine's load).
        var refused = 0
        for connection in idle.suffix(150) where await connection.closedByPeer(within: 5) { refused += 1 }
        #expect(refused >= 100, "connections over the cap are closed at once")
        // Once the idle ones are gone, an honest node connects and syncs.
        idle.removeAll()
        let drained = Date().addingTimeInterval(30)
        while central.listener.guardian.openConnections > 0, Date() < drained { try await Task.sleep(for: .milliseconds(50)) }
        #expect(central.listener.guardian.openConnections == 0)
        let token = central.directory.appendingPathComponent("ward.token").path
        let ward = central.directory.appendingPathComponent("ward").path
        try NodeDirectory(central.directory.appendingPathComponent("central").path).enrol(name: "ward-5a", role: .ward, wards: ["W-CARD"], centralAddress: nil, validDays: 365)
            .token.write(to: token)
        try NodeDirectory(ward).join(with: EnrolmentToken.read(from: token).grant, NodeSetup(listen: "127.0.0.1:0", policies: PolicyDirectory(NodeNetworkTests.policies)))
        let (_, _, wardRuntime) = try NodeRuntime.open(directory: ward, logger: quietLogger)
        try await wardRuntime.replica.write {
            try $0.insert(
                into: "surveyResponse",
                values: ["patientId": "P1", "answers": "{}", "wardId": "W-CARD", "templateId": "t", "mode": "bedside", "submittedAt": "2026-11-23T09:00:00+08:00"])
        }
        let connection = try await wardRuntime.connect(to: try Endpoint("127.0.0.1:\(central.port)"))
        let report = try await wardRuntime.run(connection, as: .client, address: "central", options: SyncOptions(mode: .oneShot))
        #expect(report.rowsSent == 1)
    }
}
