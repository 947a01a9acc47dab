import CRMDomain
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import NodeHTTP
@testable import NodeRuntime

/// Appointments on /appointments: book, list by days and status, confirm, no-show, cancel.
@Suite("Web UI: appointments")
struct AppointmentPageTests {
    @Test func anAgentBooksListsAndConfirmsAppointments() async throws {
        try await APITests.withNode { runtime, client in
            let crm = runtime.crm
            try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-CARD", name: "心内科"))
            let patient = try await crm.patients.create(.system, PatientInput(name: "预约患者", phone: "13800138128"))
            let agent = try await WebArchiveAndChartTests.logIn(client, "agent")
            func post(_ uri: String, _ body: String) async throws -> (HTTPResponse.Status, String) {
                try await EncounterPageTests.post(client, uri, body, agent)
            }
            func page(_ uri: String) async throws -> String {
                try await client.execute(uri: uri, method: .get, headers: [.cookie: agent]) { String(buffer: $0.body) }
            }
            let today = crm.today()
            let tomorrow = try #require(crm.time.day(today, plus: 1)), later = try #require(crm.time.day(today, plus: 20))
            for (day, hour) in [(tomorrow, "09:30"), (today, "15:00"), (later, "10:00")] {
                let booked = try await post("/appointments", "patientId=\(patient)&kind=visit&departmentId=D-CARD&at=\(day)T\(hour)")
                #expect(booked.0 == .seeOther, "\(booked.1)")
            }
            #expect(try await post("/appointments", "patientId=nobody&kind=visit&at=\(tomorrow)T09:00").1.contains("nobody"), "an unknown archive is named")
            // The coming week, earliest first; the one in three weeks is not in it.
            let week = try await page("/appointments")
            let todayAt = try #require(week.range(of: "\(today) 15:00")), tomorrowAt = try #require(week.range(of: "\(tomorrow) 09:30"))
            #expect(todayAt.lowerBound < tomorrowAt.lowerBound && !week.contains("\(later) 10:00") && week.contains("预约患者"))
            #expect(week.contains("<button type=\"submit\" class=\"secondary\">") && !week.contains("&quot;secondary"))

            let list = try await crm.service.appointments(Caller(userId: "agent", role: .agent), range: DayRange(from: today, to: later), status: nil, page: PageRequest())
            #expect(list.items.count == 3)
            let (first, second) = (list.items[0].id, list.items[1].id)
            #expect(try await post("/appointments/\(first)/status", "status=confirmed").0 == .seeOther)
            #expect(try await post("/appointments/\(second)/status", "status=noShow").0 == .seeOther)
            let confirmed = try await page("/appointments?status=confirmed")
            #expect(confirmed.contains("\(today) 15:00") && !confirmed.contains("\(tomorrow) 09:30"))
            // A visit confirmed cannot be cancelled afterwards.
            let again = try await post("/appointments/\(first)/status", "status=cancelled")
            #expect(again.0 == .ok && again.1.contains("已是"))
            let archive = try await crm.patients.archive(Caller(userId: "manager", role: .manager), patientId: patient)
            #expect(Set(archive.appointments.map(\.status)) == ["confirmed", "noShow", "booked"])
        }
    }
}
