import CRMDomain
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Replica
import TestSupport
import Testing

@testable import NodeHTTP
@testable import NodeRuntime

@Suite("Audit trail: reads, searches, exports and logins, on a page for managers")
struct AuditTrailTests {
    /// Opening an archive, searching and exporting leave ids and counts in the audit trail (never
    /// the search text or any value); managers read it on `/audit`, visitors may not.
    @Test func archiveReadsSearchesExportsAndLoginsAreAuditedAndShownToManagers() async throws {
        try await APITests.withNode { runtime, client in
            let patient = try await runtime.crm.patients.create(.system, PatientInput(name: "审计对象", phone: "13812340000"))
            let manager = try await APIClient(client: client).logIn("manager", "password-manager")
            #expect(try await manager.call(.get, "/api/patients/\(patient)").status == .ok)
            #expect(try await manager.call(.get, "/api/patients?q=%E5%AE%A1%E8%AE%A1").status == .ok)
            #expect(try await manager.call(.get, "/api/export/patients").status == .ok)
            let trail = try await runtime.replica.reader.read { db in
                try Row.fetchAll(db, sql: "SELECT userId, action, entity, entityId FROM auditEntry WHERE userId = 'manager' ORDER BY at, id")
                    .map { "\($0["action"] as String) \($0["entity"] as String) \($0["entityId"] as String)" }
            }
            #expect(trail.contains("login appUser manager"))
            #expect(trail.contains("patient.read patient \(patient)"))
            #expect(trail.contains("patient.search patient \(patient)"))
            #expect(trail.contains("export patients 1 rows"))
            #expect(!trail.joined().contains("审计") && !trail.joined().contains("13812340000"), "ids and counts only")

            // Every archive a search showed has its own entry: the trail of any one names the search.
            let second = try await runtime.crm.patients.create(.system, PatientInput(name: "审计对象二", phone: "13812340001"))
            #expect(try await manager.call(.get, "/api/patients?q=%E5%AE%A1%E8%AE%A1").status == .ok)
            let searched = try await runtime.crm.organisation.auditTrail(.system, entityId: second, action: "patient.search", page: PageRequest(limit: 10))
            #expect(searched.items.count == 1 && searched.items.first?.userId == "manager")

            let cookie = try await WebArchiveAndChartTests.logIn(client, "manager")
            let page = try await client.execute(uri: "/audit?entity=\(patient)", method: .get, headers: [.cookie: cookie]) { ($0.status, String(buffer: $0.body)) }
            #expect(page.0 == .ok && page.1.contains("patient.read") && page.1.contains(patient))
            let nurse = try await WebArchiveAndChartTests.logIn(client, "nurse")
            #expect(try await client.execute(uri: "/audit", method: .get, headers: [.cookie: nurse]) { $0.status } == .forbidden)

            // The security officer's filters: a person, an action family, days; and the same as CSV.
            let today = runtime.crm.today()
            let reads = try await client.execute(uri: "/audit?user=manager&action=patient&from=\(today)&to=\(today)", method: .get, headers: [.cookie: cookie]) {
                String(buffer: $0.body)
            }
            #expect(reads.contains("patient.read") && reads.contains("patient.search") && !reads.contains("<td>export</td>") && !reads.contains("<td>login</td>"))
            let nobody = try await client.execute(uri: "/audit?user=nurse&action=export", method: .get, headers: [.cookie: cookie]) { String(buffer: $0.body) }
            #expect(!nobody.contains("<td>export</td>"))
            let yesterday = try #require(runtime.crm.time.day(today, plus: -1))
            let before = try await client.execute(uri: "/audit?user=manager&to=\(yesterday)", method: .get, headers: [.cookie: cookie]) { String(buffer: $0.body) }
            #expect(!before.contains("patient.read"))
            let refused = try await client.execute(uri: "/audit?from=2026-13-01", method: .get, headers: [.cookie: cookie]) { ($0.status, String(buffer: $0.body)) }
            #expect(refused.0 == .ok && refused.1.contains("class=\"error\""))
            let csv = try await client.execute(uri: "/audit.csv?user=manager&action=patient", method: .get, headers: [.cookie: cookie]) {
                ($0.headers[.contentType], String(buffer: $0.body))
            }
            #expect(csv.0 == "text/csv; charset=utf-8" && csv.1.contains("patient.read,patient,\(patient)") && !csv.1.contains(",export,"))
            #expect(try await client.execute(uri: "/audit.csv", method: .get, headers: [.cookie: nurse]) { $0.status } == .forbidden)
        }
    }
}
