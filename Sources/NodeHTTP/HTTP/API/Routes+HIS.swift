import CRMDomain
import Foundation
import HL7
import Hummingbird
import NodeRuntime

/// The HIS feed's code map and refused-message queue (admins; managers may read the map).
package enum HISRoutes {
    package struct CodeBody: Codable { var targetId: String }
    /// What a replay did: the acknowledgement the HIS would have had.
    package struct ReplayResult: Codable {
        var ack: String
        var errorCode: String?
        var error: String?
    }

    package static func add(to api: RouterGroup<APIRequestContext>, crm: CRM) {
        api.get("his/codes") { _, context in
            try await JSONResponse.make(try crm.his.codes(try context.requireCaller()))
        }
        api.put("his/codes/:kind/:code") { request, context in
            let caller = try context.requireCaller()
            let body = try await request.json(CodeBody.self, context: context)
            try await crm.his.setCode(caller, HISCode(kind: try kind(context), code: try context.parameters.id("code"), targetId: body.targetId))
            return try JSONResponse.make(Done())
        }
        api.delete("his/codes/:kind/:code") { _, context in
            try await crm.his.removeCode(try context.requireCaller(), kind: try kind(context), code: try context.parameters.id("code"))
            return try JSONResponse.make(Done())
        }
        api.get("his/refused") { request, context in
            let caller = try context.requireCaller()
            let state = request.query("state") ?? "open"
            guard ["open", "replayed", "dismissed"].contains(state) else { throw CRMError(.invalid, "state must be open, replayed or dismissed") }
            return try await JSONResponse.make(try crm.his.refused(caller, state: state, limit: try request.pageRequest().limit))
        }
        api.post("his/refused/:id/replay") { _, context in
            let receipt = try await crm.his.replay(try context.requireCaller(), id: try refusedID(context))
            let error = receipt.acknowledgement.error
            return try JSONResponse.make(ReplayResult(ack: receipt.acknowledgement.code.rawValue, errorCode: error?.code.rawValue, error: error?.message))
        }
        api.post("his/refused/:id/dismiss") { _, context in
            try await crm.his.dismiss(try context.requireCaller(), id: try refusedID(context))
            return try JSONResponse.make(Done())
        }
    }

    static func kind(_ context: APIRequestContext) throws -> HISCodeKind {
        let name = try context.parameters.id("kind")
        guard let kind = HISCodeKind(rawValue: name) else {
            throw CRMError(.notFound, "no HIS code kind '\(name.prefix(20))' (kinds: \(HISCodeKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return kind
    }

    static func refusedID(_ context: APIRequestContext) throws -> Int64 {
        guard let id = Int64(try context.parameters.id()), id > 0 else { throw CRMError(.notFound, "no refused message with that id") }
        return id
    }
}
