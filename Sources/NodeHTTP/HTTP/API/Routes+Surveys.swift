import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime

/// Survey templates, responses and opinions.
package enum SurveyRoutes {
    package struct TemplateBody: Codable { var name: String; var purpose: String?; var diseaseCode: String?; var definition: SurveyDefinition }
    package struct Version: Codable { var id: String; var version: Int }

    package static func add(to api: RouterGroup<APIRequestContext>, crm: CRM) {
        api.get("templates") { _, context in
            _ = try context.requireCaller()
            return try await JSONResponse.make(try crm.surveys.templates())
        }
        api.get("templates/:id") { request, context in
            _ = try context.requireCaller()
            let id = try context.parameters.id()
            let version = try request.query("version").map { text throws(CRMError) in
                guard let number = Int(text) else { throw CRMError(.invalid, "version must be a number") }
                return number
            }
            return try await JSONResponse.make(try crm.surveys.template(id, version: version))
        }
        api.put("templates/:id") { request, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.id()
            let body = try await request.json(TemplateBody.self, context: context)
            let version = try await crm.surveys.saveTemplate(caller, id: id, name: body.name, purpose: body.purpose, diseaseCode: body.diseaseCode, definition: body.definition)
            return try JSONResponse.make(Version(id: id, version: version))
        }
        api.post("responses") { request, context in
            let caller = try context.requireCaller()
            let submission = try await request.json(SurveySubmission.self, context: context)
            let receipt = try await crm.surveys.submit(caller, submission)
            return try JSONResponse.make(receipt, status: receipt.created ? .created : .ok)
        }
        api.post("responses/:id/opinions") { request, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.id()
            let opinion = try await request.json(OpinionInput.self, context: context)
            return try await JSONResponse.make(CreatedID(id: try crm.surveys.flagOpinion(caller, responseId: id, opinion)), status: .created)
        }
    }
}
