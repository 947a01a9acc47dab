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
            return try JSONResponse.make(try await blocking { try crm.templates() })
        }
        api.get("templates/:id") { request, context in
            _ = try context.requireCaller()
            let id = try context.parameters.id()
            let version = try request.query("version").map { text throws(CRMError) in
                guard let number = Int(text) else { throw CRMError(.invalid, "version must be a number") }
                return number
            }
            return try JSONResponse.make(try await blocking { try crm.template(id, version: version) })
        }
        api.put("templates/:id") { request, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.id()
            let body = try await request.json(TemplateBody.self, context: context)
            let version = try await blocking {
                try crm.saveTemplate(caller, id: id, name: body.name, purpose: body.purpose, diseaseCode: body.diseaseCode, definition: body.definition)
            }
            return try JSONResponse.make(Version(id: id, version: version))
        }
        api.post("responses") { request, context in
            let caller = try context.requireCaller()
            let submission = try await request.json(SurveySubmission.self, context: context)
            let receipt = try await blocking { try crm.submitResponse(caller, submission) }
            return try JSONResponse.make(receipt, status: receipt.created ? .created : .ok)
        }
        api.post("responses/:id/opinions") { request, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.id()
            let opinion = try await request.json(OpinionInput.self, context: context)
            return try JSONResponse.make(CreatedID(id: try await blocking { try crm.flagOpinion(caller, responseId: id, opinion) }), status: .created)
        }
    }
}
