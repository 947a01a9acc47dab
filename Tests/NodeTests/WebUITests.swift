import ArgumentParser
import CRMDomain
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import Benchmarks
@testable import NodeHTTP
@testable import NodeRuntime
@testable import Testnets

@Suite("Web UI pages")
struct WebUITests {
    @Test func pagesNeedALoginKeepToTheirRolesAndEscapeWhatUsersTyped() async throws {
        try await APITests.withNode { runtime, client in
            // Not logged in: every page sends you to the login form.
            for path in ["/", "/ward", "/desk", "/patients", "/dashboard"] {
                let answer = try await client.execute(uri: path, method: .get) { $0 }
                #expect(answer.status == .seeOther && answer.headers[.location] == "/login", "\(path)")
            }
            let login = try await client.execute(
                uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "username=agent&password=password-agent")
            ) { $0 }
            #expect(login.status == .seeOther && login.headers[.location] == "/desk")
            let cookie = try #require(login.headers[.setCookie]?.split(separator: ";").first.map(String.init))
            let attributes = Set((login.headers[.setCookie] ?? "").split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
            #expect(attributes.isSuperset(of: ["secure", "httponly", "samesite=strict"]), "session cookie attributes: \(attributes)")
            let wrong = try await client.execute(
                uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "username=agent&password=nope")
            ) { $0 }
            #expect(wrong.status == .unauthorized)

            // A name with markup in it is shown as text, never run.
            let id = try await runtime.crm.patients.create(.system, PatientInput(name: "<script>alert(1)</script>张", phone: "13800009999"))
            let page = try await client.execute(uri: "/patients/\(id)", method: .get, headers: [.cookie: cookie]) { response in
                (response.status, String(buffer: response.body))
            }
            #expect(page.0 == .ok)
            #expect(!page.1.contains("<script>alert(1)</script>") && page.1.contains("&lt;script&gt;alert(1)&lt;/script&gt;张"))
            // An agent may not open the manager's pages; the answer is a page, not JSON.
            let dashboard = try await client.execute(uri: "/dashboard", method: .get, headers: [.cookie: cookie]) { response in
                (response.status, String(buffer: response.body))
            }
            #expect(dashboard.0 == .forbidden && dashboard.1.contains("<!doctype html>"))
            // English on request, remembered in a cookie.
            let english = try await client.execute(uri: "/desk?lang=en", method: .get, headers: [.cookie: cookie]) { response in
                (response.headers[.setCookie] ?? "", String(buffer: response.body))
            }
            #expect(english.0.contains("suifang_lang=en") && english.1.contains("Agent desk"))
            // Assets come from the binary.
            let css = try await client.execute(uri: "/assets/app.css", method: .get) { $0 }
            #expect(css.status == .ok && css.headers[.contentType]?.hasPrefix("text/css") == true)
        }
    }

    @Test func aScreenPopReachesOnlyTheNamedAgentsOpenDesks() async throws {
        let hub = ScreenPopHub()
        let (mine, endMine) = hub.subscribe(agent: "agent1", heartbeat: .seconds(3600))
        let (other, endOther) = hub.subscribe(agent: "agent2", heartbeat: .seconds(3600))
        #expect(hub.publish("<b>call</b>", to: "agent1") == 1)
        var iterator = mine.makeAsyncIterator()
        #expect(await iterator.next() == "<b>call</b>")
        endMine()
        #expect(await iterator.next() == nil, "ending a desk's stream ends the page's loop")
        endOther()
        var otherIterator = other.makeAsyncIterator()
        #expect(await otherIterator.next() == nil, "agent2 received nothing")
        #expect(hub.publish("x", to: "agent1") == 0, "closed desks are forgotten")
    }
}

extension WebUITests {
    @Test func theTemplateEditorsRowsBecomeQuestionsWithOptionsSkipLogicAndRoles() throws {
        let form = FormFields(
            [
                "count=3",
                "q0_id=overall", "q0_text=%E6%80%BB%E4%BD%93", "q0_type=scale5", "q0_role=overall", "q0_required=1",
                "q1_id=environment", "q1_text=Room", "q1_type=single", "q1_options=good%3D%E5%A5%BD%0Apoor%3D%E5%B7%AE", "q1_showIf=overall", "q1_showIfValues=1%2C2",
                "q2_id=gone", "q2_text=x", "q2_type=text", "q2_delete=1",
            ].joined(separator: "&"))
        let definition = TemplateEditor.definition(from: form)
        #expect(definition.questions.map(\.id) == ["overall", "environment"])
        #expect(definition.questions[0].text == "总体" && definition.questions[0].role == .overall && definition.questions[0].required == true)
        #expect(definition.questions[1].options == [.init(value: "good", label: "好"), .init(value: "poor", label: "差")])
        #expect(definition.questions[1].showIf == .init(question: "overall", equals: ["1", "2"]) && definition.questions[1].required == false)
        let html = TemplateEditor.render(
            id: "t", name: "T", purpose: "bedside", diseaseCode: nil, version: 1, definition: definition, blankRows: 1,
            s: Strings(language: .zh), error: nil
        ).html
        #expect(html.contains("name=\"count\" value=\"3\"") && html.contains("good=好\npoor=差"))
    }
}
