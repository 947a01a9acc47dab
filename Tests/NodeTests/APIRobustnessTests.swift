import CRMDomain
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Replica
import TestSupport
import Testing

@testable import Benchmarks
@testable import NodeHTTP
@testable import NodeRuntime
@testable import Testnets

@Suite("API robustness")
struct APIRobustnessTests {
    /// Every route, as an admin and as a manager, with malformed bodies and queries: a clear 4xx
    /// (or a 2xx where the input happens to be acceptable), never a 5xx, and no patient data echoed.
    @Test func noRouteAnswers5xxToBadInput() async throws {
        nonisolated(unsafe) var total = 0
        try await APITests.withNode { runtime, client in
            _ = try await runtime.crm.patients.create(.system, PatientInput(name: "秘密患者", phone: "13812345678"))
            let routes = buildRouter(runtime: runtime, configuration: try NodeDirectory(FileManager.default.temporaryDirectory.path).configurationOrDefault())
                .routes.map { (method: $0.method, path: "\($0.path)") }
            var random = SplitMix64(seed: 20261123)
            var requests = 0
            let bodies: [String] = [
                "", "{}", "[]", "null", "\"x\"", "{\"id\":1}", "{\"name\":{\"a\":[1,2,{}]}}", "{\"phone\":\"秘密患者\"}",
                String(repeating: "[", count: 5000), "name=%ZZ&&=&password", "{\"answers\":{\"overall\":1e308}}",
            ]
            for role in ["admin", "manager", "agent", "nurse"] {
                let user = try await APIClient(client: client).logIn(role, "password-\(role)")
                for route in routes where route.path != "/desk/events" {  // a stream that stays open
                    let path = route.path.replacingOccurrences(of: "{id}", with: "nope%00").replacingOccurrences(of: "{kind}", with: "ward")
                        .replacingOccurrences(of: "{dataset}", with: "patients").replacingOccurrences(of: "{key}", with: "k")
                        .replacingOccurrences(of: "{day}", with: "2026-13-45").replacingOccurrences(of: "{encounter}", with: "x")
                        .replacingOccurrences(of: "{node}", with: "zz").replacingOccurrences(of: "{chart}", with: "nope.csv")
                    for body in bodies {
                        let query = ["", "?limit=-1&after=%FF", "?from=2026-02-30&to=x&period=decade", "?phone=&q=" + String(repeating: "秘", count: 60)][Int(random.next() % 4)]
                        let answer = try await user.call(route.method, path + query, raw: ByteBuffer(string: body))
                        requests += 1
                        #expect(answer.status.code < 500, "\(route.method) \(route.path) as \(role) with \(body.prefix(20)): \(answer.status)")
                        #expect(
                            !answer.text.contains("秘密患者") || route.path == "/api/patients" || route.path.hasPrefix("/api/export") || route.path.hasPrefix("/patients"),
                            "\(route.path) echoed patient data")
                    }
                }
            }
            total = requests
        }
        #expect(total > 2_000)
    }
}

extension NodeDirectory {
    /// The configuration, or a placeholder central configuration when the directory holds no node.
    func configurationOrDefault() throws -> NodeConfiguration {
        (try? configuration()) ?? NodeConfiguration(name: "test", role: "central", nodeID: "0000000000000001", listen: "127.0.0.1:0", peers: [])
    }
}
