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
            let routes = buildRouter(
                runtime: runtime, configuration: try NodeDirectory(FileManager.default.temporaryDirectory.path).configurationOrDefault(), answeringUndeclaredMethods: false
            )
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

    /// What docs/openapi.yaml forbids is a 400; a well-formed request that breaks a rule the schema
    /// cannot show is a 422; NUL never reaches the replica; path parameters arrive percent-decoded.
    @Test func schemaViolationsAndBrokenRulesAreToldApart() async throws {
        try await APITests.withNode { _, client in
            let anonymous = APIClient(client: client)
            let admin = try await anonymous.logIn("admin", "password-admin")
            var answer = try await admin.call(.post, "/api/patients", json: #"{"name":"张\u0000三"}"#)
            #expect(answer.status == .badRequest && answer.error?.error.message.contains("NUL") == true)
            answer = try await admin.call(.post, "/api/patients", json: #"{"name":"张三","address":"a\\u0000b"}"#)  // an escaped backslash: no NUL
            #expect(answer.status == .created)
            answer = try await admin.call(.post, "/api/patients", json: #"{"name":"\f"}"#)
            #expect(answer.status == .badRequest, "a name of control characters")
            answer = try await admin.call(.get, "/api/stats/satisfaction?from=2026-12-01&to=2026-11-01")
            #expect(answer.status == .unprocessableContent)
            answer = try await admin.call(.get, "/api/stats/satisfaction?from=2026-13-01&to=2026-11-01")
            #expect(answer.status == .badRequest)
            answer = try await admin.call(.post, "/api/merges", json: #"{"survivorId":"P1","mergedId":"P1"}"#)
            #expect(answer.status == .unprocessableContent)
            answer = try await admin.call(.get, "/api/tasks?after=")
            #expect(answer.status == .ok, "an empty cursor is the first page")
            answer = try await admin.call(.get, "/api/tasks?kind=nonsense")
            #expect(answer.status == .badRequest)
            answer = try await admin.call(
                .post, "/api/rules", json: #"{"name":"r","kind":"fixed-offset","triggerEvent":"discharge","filter":{},"active":true,"offsets":[1],"intervalDays":0}"#)
            #expect(answer.status == .badRequest, "intervalDays out of range even on a fixed-offset rule")
            answer = try await admin.call(.put, "/api/his/codes/ward/%E5%BF%83%E5%86%85", json: #"{"targetId":"W-CARD-1"}"#)
            #expect(answer.status == .ok || answer.status == .notFound, "\(answer.status): \(answer.text)")
            answer = try await admin.call(.get, "/api/his/codes")
            #expect(answer.status != .ok || !answer.text.contains("%E5"), "codes are stored decoded")
            answer = try await admin.call(.put, "/api/sms/templates/t1", json: #"{"name":"","kind":"general","body":"hi"}"#)
            #expect(answer.status == .badRequest, "an SMS template needs a name")
        }
    }

    /// A served path asked with a method it does not serve says so (405 with `Allow`), on the API,
    /// on FHIR and on pages, instead of a 404 claiming the path does not exist.
    @Test func undeclaredMethodsAnswer405WithAllow() async throws {
        try await APITests.withNode { _, client in
            for (method, path, allow) in [
                (HTTPRequest.Method.delete, "/api/health", "GET, HEAD"), (.put, "/api/login", "POST"), (.options, "/api/patients", "GET, HEAD, POST"),
                (.post, "/fhir/metadata", "GET, HEAD"), (.trace, "/api/patients/P1", "GET, HEAD, PATCH"), (.patch, "/login", "GET, HEAD, POST"),
            ] {
                try await client.execute(uri: path, method: method) { response in
                    #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                    #expect(response.headers[.allow] == allow, "\(method) \(path)")
                }
            }
            try await client.execute(uri: "/api/no-such-route", method: .delete) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/api/health", method: .head) { #expect($0.status == .ok) }
        }
    }
}

extension NodeDirectory {
    /// The configuration, or a placeholder central configuration when the directory holds no node.
    func configurationOrDefault() throws -> NodeConfiguration {
        (try? configuration()) ?? NodeConfiguration(name: "test", role: "central", nodeID: "0000000000000001", listen: "127.0.0.1:0", peers: [])
    }
}
