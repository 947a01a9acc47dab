import CRMDomain
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Replica
import TestSupport
import Testing

@testable import NodeHTTP
@testable import NodeRuntime

/// Machine credentials: the PBX pops a desk with its own revocable token, which opens nothing else.
@Suite("Machine credentials")
struct MachineCredentialTests {
    @Test func aPBXCredentialOpensTheScreenPopAndNothingElseUntilRevoked() async throws {
        try await APITests.withNode { runtime, client in
            let token = try runtime.machines.create(name: "pbx", scopes: [.screenPop])
            #expect(token.hasPrefix("sfm_") && token.count > 40)
            let pbx = APIClient(client: client, token: token)
            let pop = try await pbx.call(.post, "/api/screen-pop", json: #"{"agent":"agent","phone":"13800138000"}"#)
            #expect(pop.status == .ok, "\(pop.text)")
            #expect(try await pbx.call(.get, "/api/callerid?phone=013800138000").status == .ok)
            // Nothing else: no session, no other route, no page.
            for path in ["/api/status", "/api/patients?q=a", "/api/tasks?day=2026-11-24", "/api/complaints"] {
                #expect(try await pbx.call(.get, path).status == .unauthorized, "\(path)")
            }
            let page = try await client.execute(uri: "/desk", method: .get, headers: [.authorization: "Bearer \(token)"]) { $0.status }
            #expect(page == .seeOther, "a machine token is not a login")
            // A token it does not know, or one a character off, opens nothing.
            #expect(
                try await APIClient(client: client, token: "sfm_" + String(repeating: "A", count: 43)).call(.post, "/api/screen-pop", json: #"{"agent":"agent","phone":"1"}"#)
                    .status == .unauthorized)
            #expect(try await APIClient(client: client, token: String(token.dropLast()) + "x").call(.get, "/api/callerid?phone=1").status == .unauthorized)

            try runtime.machines.revoke(name: "pbx")
            #expect(try await pbx.call(.post, "/api/screen-pop", json: #"{"agent":"agent","phone":"13800138000"}"#).status == .unauthorized)
            #expect(try runtime.machines.list().map(\.name) == ["pbx"] && runtime.machines.list()[0].revokedAt != nil)
            #expect(try runtime.machines.list()[0].lastUsedAt != nil)
        }
    }

    @Test func tokensAreKeptOnlyAsHashesAndNamesAreChecked() async throws {
        try await APITests.withNode { runtime, _ in
            let token = try runtime.machines.create(name: "his-engine", scopes: [.screenPop])
            let stored = try runtime.replica.reader.read { db in try Row.fetchOne(db, sql: "SELECT * FROM _machine_credential") }
            let hash = try #require(stored?["secretHash"] as Data?)
            #expect(hash.count == 32 && !String(decoding: hash, as: UTF8.self).contains(token.dropFirst(4)))
            #expect(!(stored?.description.contains(String(token.dropFirst(4))) ?? true))
            #expect(throws: NodeSetupError.self) { try runtime.machines.create(name: "his-engine", scopes: [.screenPop]) }
            #expect(throws: NodeSetupError.self) { try runtime.machines.create(name: "bad name", scopes: [.screenPop]) }
            #expect(throws: NodeSetupError.self) { try runtime.machines.create(name: "none", scopes: []) }
            #expect(throws: NodeSetupError.self) { try runtime.machines.revoke(name: "nobody") }
        }
    }

    @Test func anAdminMakesSeesAndRevokesCredentialsOnAPage() async throws {
        try await APITests.withNode { runtime, client in
            let admin = try await WebArchiveAndChartTests.logIn(client, "admin")
            func post(_ path: String, _ body: String) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(
                    uri: path, method: .post, headers: [.cookie: admin, .contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: WebArchiveAndChartTests.withToken(body, admin))
                ) { ($0.status, String(buffer: $0.body)) }
            }
            let (status, created) = try await post("/tokens", "name=pbx&scope=screen-pop")
            #expect(status == .ok)
            let token = try #require(created.firstMatch(of: /sfm_[A-Za-z0-9_-]+/).map { String($0.output) })
            #expect(created.contains("机器凭据") && created.contains("<td>pbx</td>"))
            #expect(runtime.machines.authenticate(token: token)?.name == "pbx")
            let list = try await client.execute(uri: "/tokens", method: .get, headers: [.cookie: admin]) { String(buffer: $0.body) }
            #expect(list.contains("<td>pbx</td>") && !list.contains(token), "the list never shows a token again")
            #expect(try await post("/tokens/pbx/revoke", "").0 == .seeOther)
            #expect(runtime.machines.authenticate(token: token) == nil)
            // Managers do not manage machines.
            let manager = try await WebArchiveAndChartTests.logIn(client, "manager")
            let refused = try await client.execute(uri: "/tokens", method: .get, headers: [.cookie: manager]) { $0.status }
            #expect(refused == .forbidden || refused == .seeOther)
        }
    }

    /// The CLI as an IT person uses it.
    @Test func tokenCreateListRevokeFromTheCommandLine() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        let central = root.appendingPathComponent("central").path
        let made = try SuifangBinary.run([
            "init", "--role", "central", "--dir", central, "--listen", "127.0.0.1:0", "--policies", RepositoryFiles.policiesDirectory.path, "--no-encryption",
        ])
        #expect(made.status == 0, "\(made.output)")
        let create = try SuifangBinary.run(["token", "create", "--dir", central, "--name", "pbx", "--scope", "screen-pop", "--json"])
        #expect(create.status == 0, "\(create.output)")
        let printed = try JSONSerialization.jsonObject(with: Data(create.output.utf8)) as? [String: Any]
        #expect((printed?["token"] as? String)?.hasPrefix("sfm_") == true && printed?["name"] as? String == "pbx")
        let unknown = try SuifangBinary.run(["token", "create", "--dir", central, "--name", "x", "--scope", "everything"])
        #expect(unknown.status != 0 && unknown.output.contains("unknown scope"))
        let list = try SuifangBinary.run(["token", "list", "--dir", central])
        #expect(list.output.contains("pbx: screen-pop, active") && !list.output.contains("sfm_"), "\(list.output)")
        #expect(try SuifangBinary.run(["token", "revoke", "--dir", central, "pbx"]).status == 0)
        #expect(try SuifangBinary.run(["token", "list", "--dir", central]).output.contains("pbx: screen-pop, revoked"))
    }
}
