import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime

/// Complaints, consultations, appointments and the blacklist.
package enum ServiceRoutes {
    package struct AdvanceBody: Codable {
        var status: ComplaintStatus
        var note: String
        var departmentId: String?
        var handlerId: String?
        var resolution: String?
    }
    package struct ConsultationBody: Codable { var patientId: String?; var phone: String?; var topic: String; var content: String; var handling: String? }
    package struct AnswerBody: Codable { var handling: String }
    package struct AppointmentBody: Codable { var patientId: String; var kind: String; var departmentId: String?; var doctorId: String?; var scheduledAt: String }
    package struct AppointmentStatusBody: Codable { var status: AppointmentStatus }
    package struct BlacklistBody: Codable { var phone: String; var blacklisted: Bool; var reason: String? }

    package static func add(to api: RouterGroup<APIRequestContext>, crm: CRM) {
        api.get("complaints") { request, context in
            let caller = try context.requireCaller()
            let page = try request.pageRequest()
            let status = try request.query("status").map { text throws(CRMError) in
                guard let status = ComplaintStatus(rawValue: text) else {
                    throw CRMError(.invalid, "status must be one of \(ComplaintStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return status
            }
            return try await JSONResponse.make(try crm.complaints.board(caller, status: status, page: page))
        }
        api.post("complaints") { request, context in
            let caller = try context.requireCaller()
            let input = try await request.json(ComplaintInput.self, context: context)
            return try await JSONResponse.make(CreatedID(id: try crm.complaints.register(caller, input)), status: .created)
        }
        api.get("complaints/:id") { _, context in
            let caller = try context.requireCaller()
            try caller.require(.agent, .manager, .admin)
            let id = try context.parameters.id()
            return try await JSONResponse.make(try crm.complaints.complaint(id))
        }
        api.post("complaints/:id/advance") { request, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.id()
            let body = try await request.json(AdvanceBody.self, context: context)
            try await crm.complaints.advance(
                caller, id: id, to: body.status, note: body.note, departmentId: body.departmentId,
                handlerId: body.handlerId, resolution: body.resolution)
            return try JSONResponse.make(Done())
        }
        api.post("consultations") { request, context in
            let caller = try context.requireCaller()
            let body = try await request.json(ConsultationBody.self, context: context)
            let id = try await crm.service.registerConsultation(
                caller, patientId: body.patientId, phone: body.phone, topic: body.topic, content: body.content, handling: body.handling)
            return try JSONResponse.make(CreatedID(id: id), status: .created)
        }
        api.post("consultations/:id/answer") { request, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.id()
            let body = try await request.json(AnswerBody.self, context: context)
            try await crm.service.answerConsultation(caller, id: id, handling: body.handling)
            return try JSONResponse.make(Done())
        }
        api.post("appointments") { request, context in
            let caller = try context.requireCaller()
            let body = try await request.json(AppointmentBody.self, context: context)
            let id = try await crm.service.bookAppointment(
                caller, patientId: body.patientId, kind: body.kind, departmentId: body.departmentId,
                doctorId: body.doctorId, scheduledAt: body.scheduledAt)
            return try JSONResponse.make(CreatedID(id: id), status: .created)
        }
        api.post("appointments/:id/status") { request, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.id()
            let body = try await request.json(AppointmentStatusBody.self, context: context)
            try await crm.service.setAppointmentStatus(caller, id: id, status: body.status)
            return try JSONResponse.make(Done())
        }
        api.get("blacklist") { _, context in
            let caller = try context.requireCaller()
            return try await JSONResponse.make(try crm.service.blacklist(caller))
        }
        api.post("blacklist") { request, context in
            let caller = try context.requireCaller()
            let body = try await request.json(BlacklistBody.self, context: context)
            try await crm.service.setBlacklisted(caller, phone: body.phone, blacklisted: body.blacklisted, reason: body.reason)
            return try JSONResponse.make(Done())
        }
    }
}
