import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime

/// Follow-up rules, the task queue, claims and outcomes.
package enum FollowUpRoutes {
    package struct OneOffBody: Codable { var patientId: String; var dueDate: String; var note: String?; var templateId: String?; var assignee: String? }
    package struct AssignBody: Codable { var assignee: String }
    package struct RecordBody: Codable {
        var outcome: FollowUpOutcome
        var note: String?
        var nextAction: String?
        var responseId: String?
        var retryOn: String?
    }
    package struct Applied: Codable { var tasks: Int }

    package static func add(to api: RouterGroup<APIRequestContext>, crm: CRM) {
        api.get("rules") { _, context in
            _ = try context.requireCaller()
            return try await JSONResponse.make(try crm.followUps.rules())
        }
        api.post("rules") { request, context in
            let caller = try context.requireCaller()
            let rule = try await request.json(FollowUpRule.self, context: context)
            return try await JSONResponse.make(CreatedID(id: try crm.followUps.saveRule(caller, rule)), status: .created)
        }
        api.post("rules/preview") { request, context in
            let caller = try context.requireCaller()
            let since = try request.requireQuery("since")
            let rule = try await request.json(FollowUpRule.self, context: context)
            return try await JSONResponse.make(try crm.followUps.previewRule(caller, rule, since: since))
        }
        api.post("rules/:id/apply") { request, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.id()
            let since = try request.requireQuery("since")
            return try await JSONResponse.make(Applied(tasks: try crm.followUps.applyRule(caller, ruleId: id, since: since)))
        }
        api.get("tasks") { request, context in
            let caller = try context.requireCaller()
            let page = try request.pageRequest()
            let day = request.query("day"), kind = request.query("kind"), ward = request.query("wardId")
            if let kind, !["bedside24h", "discharge72h", "rule", "oneOff", "sms"].contains(kind) {
                throw CRMError(.invalid, "kind must be bedside24h, discharge72h, rule, oneOff or sms")
            }
            return try await JSONResponse.make(try crm.followUps.queue(caller, day: day, kind: kind, wardId: ward, page: page))
        }
        api.post("tasks") { request, context in
            let caller = try context.requireCaller()
            let body = try await request.json(OneOffBody.self, context: context)
            let id = try await crm.followUps.createTask(
                caller, patientId: body.patientId, dueDate: body.dueDate, note: body.note, templateId: body.templateId, assignee: body.assignee)
            return try JSONResponse.make(CreatedID(id: id), status: .created)
        }
        api.post("tasks/:id/assign") { request, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.id()
            let body = try await request.json(AssignBody.self, context: context)
            try await crm.followUps.assign(caller, taskId: id, to: body.assignee)
            return try JSONResponse.make(Done())
        }
        api.get("tasks/lost-claims") { _, context in
            let caller = try context.requireCaller()
            return try await JSONResponse.make(try crm.followUps.lostClaims(caller))
        }
        api.get("tasks/:id") { _, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.id()
            return try await JSONResponse.make(try crm.followUps.task(caller, id))
        }
        api.post("tasks/:id/claim") { _, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.id()
            return try await JSONResponse.make(try crm.followUps.claim(caller, taskId: id))
        }
        api.post("tasks/:id/record") { request, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.id()
            let body = try await request.json(RecordBody.self, context: context)
            let record = try await crm.followUps.record(
                caller, taskId: id, outcome: body.outcome, note: body.note, nextAction: body.nextAction,
                responseId: body.responseId, retryOn: body.retryOn)
            return try JSONResponse.make(CreatedID(id: record), status: .created)
        }
    }
}
