import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime

/// The SMS platform.
package enum SMSRoutes {
    package struct SendBody: Codable { var patientId: String?; var phone: String?; var body: String; var scheduledAt: String? }
    package struct CampaignBody: Codable { var name: String; var templateId: String; var audience: SMSAudience; var scheduledAt: String?; var surveyTemplateId: String? }
    package struct CampaignCreated: Codable { var id: String; var messages: Int }
    package struct Count: Codable { var count: Int }
    package struct InboundBody: Codable { var phone: String; var body: String }
    package struct ReportBody: Codable { var reference: String; var delivered: Bool; var error: String? }
    package struct BirthdayBody: Codable { var day: String?; var templateId: String }

    package static func add(to api: RouterGroup<APIRequestContext>, crm: CRM) {
        api.get("sms/templates") { _, context in
            _ = try context.requireCaller()
            return try await JSONResponse.make(try crm.sms.templates())
        }
        api.put("sms/templates/:id") { request, context in
            let caller = try context.requireCaller()
            let body = try await request.json(SMSTemplateBody.self, context: context)
            let template = SMSTemplate(id: try context.parameters.id(), name: body.name, kind: body.kind, body: body.body)
            try await crm.sms.saveTemplate(caller, template)
            return try JSONResponse.make(Done())
        }
        api.post("sms/audience-count") { request, context in
            let caller = try context.requireCaller()
            let audience = try await request.json(SMSAudience.self, context: context)
            return try await JSONResponse.make(Count(count: try crm.sms.audienceCount(caller, audience)))
        }
        api.post("sms/send") { request, context in
            let caller = try context.requireCaller()
            let body = try await request.json(SendBody.self, context: context)
            let id = try await crm.sms.send(caller, patientId: body.patientId, phone: body.phone, body: body.body, scheduledAt: body.scheduledAt)
            return try JSONResponse.make(CreatedID(id: id), status: .created)
        }
        api.post("sms/campaigns") { request, context in
            let caller = try context.requireCaller()
            let body = try await request.json(CampaignBody.self, context: context)
            let created = try await crm.sms.createCampaign(
                caller, name: body.name, templateId: body.templateId, audience: body.audience, scheduledAt: body.scheduledAt, surveyTemplateId: body.surveyTemplateId)
            return try JSONResponse.make(CampaignCreated(id: created.id, messages: created.messages), status: .created)
        }
        api.post("sms/birthday") { request, context in
            let caller = try context.requireCaller()
            let body = try await request.json(BirthdayBody.self, context: context)
            return try await JSONResponse.make(Count(count: try crm.sms.queueBirthdayGreetings(caller, day: body.day, templateId: body.templateId)))
        }
        api.get("sms/outbox") { request, context in
            let caller = try context.requireCaller()
            let page = try request.pageRequest()
            let status = try request.query("status").map { text in
                guard let status = SMSStatus(rawValue: text) else {
                    throw CRMError(.invalid, "status must be one of \(SMSStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return status
            }
            let filter = SMSOutboxFilter(
                status: status, campaignId: request.query("campaignId"), patientId: request.query("patientId"), phone: request.query("phone"),
                from: request.query("from"), to: request.query("to"))
            return try await JSONResponse.make(try crm.sms.outbox(caller, filter, page: page))
        }
        api.post("sms/:id/cancel") { _, context in
            let caller = try context.requireCaller()
            try await crm.sms.cancel(caller, id: try context.parameters.id())
            return try JSONResponse.make(Done())
        }
        api.get("sms/campaigns") { request, context in
            let caller = try context.requireCaller()
            return try await JSONResponse.make(try crm.sms.campaigns(caller, page: try request.pageRequest()))
        }
        api.post("sms/campaigns/:id/cancel") { _, context in
            let caller = try context.requireCaller()
            return try await JSONResponse.make(Count(count: try crm.sms.cancelCampaign(caller, id: try context.parameters.id())))
        }
        api.get("sms/inbound") { request, context in
            let caller = try context.requireCaller()
            return try await JSONResponse.make(try crm.sms.inbound(caller, page: try request.pageRequest()))
        }
        api.post("sms/:id/resend") { _, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.id()
            try await crm.sms.resend(caller, id: id)
            return try JSONResponse.make(Done())
        }
        // The gateway's callbacks: a machine credential of scope sms-gateway (or an admin, by hand).
        api.post("sms/inbound") { request, context in
            try requireGateway(context)
            let body = try await request.json(InboundBody.self, context: context)
            try await crm.sms.receive(phone: body.phone, body: body.body)
            return try JSONResponse.make(Done())
        }
        api.post("sms/delivery-report") { request, context in
            try requireGateway(context)
            let body = try await request.json(ReportBody.self, context: context)
            try await crm.sms.recordDeliveryReport(reference: body.reference, delivered: body.delivered, error: body.error)
            return try JSONResponse.make(Done())
        }
        // Kannel's `dlr-url`: `…/api/sms/kannel/dlr?token=…&id=<message>&type=%d&reason=%A`.
        api.get("sms/kannel/dlr") { request, context in
            _ = try context.requireMachine(.smsGateway)
            let id = try request.requireQuery("id")
            guard let type = Int(try request.requireQuery("type")), let outcome = KannelReport.outcome(type: type) else {
                throw CRMError(.invalid, "type must be a Kannel delivery report type (1, 2, 4, 8 or 16)")
            }
            try await crm.sms.recordGatewayReport(messageId: id, delivered: outcome, error: request.query("reason").map { "Kannel: \($0.prefix(150))" })
            return try JSONResponse.make(Done())
        }
        // Kannel's `get-url` for messages patients send: `…/api/sms/kannel/inbound?token=…&from=%p&text=%a`.
        api.get("sms/kannel/inbound") { request, context in
            _ = try context.requireMachine(.smsGateway)
            try await crm.sms.receive(phone: try request.requireQuery("from"), body: try request.requireQuery("text"))
            return try JSONResponse.make(Done())
        }
    }
}

/// The SMS gateway calling with its machine credential, or an admin posting a report by hand.
private func requireGateway(_ context: APIRequestContext) throws {
    if context.machine != nil {
        _ = try context.requireMachine(.smsGateway)
    } else {
        try context.requireCaller().require(.admin)
    }
}

/// An SMS template as `PUT /api/sms/templates/{id}` takes it: the id is the path's.
struct SMSTemplateBody: Decodable {
    var name: String
    var kind: String
    var body: String
}
