import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime

/// Login, sessions, accounts, organisation, settings, calendar and the audit trail.
package enum AccountRoutes {
    package struct Login: Codable { var username: String; var password: String }
    package struct PasswordChange: Codable { var old: String; var new: String }
    package struct UserBody: Codable {
        var username: String
        var displayName: String
        var role: Role
        var password: String?
        var wardId: String?
        var staffId: String?
        var disabled: Bool?
    }
    package struct SettingBody: Codable { var value: String }
    package struct CalendarBody: Codable { var working: Bool; var name: String }

    package static func add(to api: RouterGroup<APIRequestContext>, crm: CRM) {
        api.post("login") { request, context in
            let body = try await request.json(Login.self, context: context)
            let session = try await crm.accounts.login(username: body.username, password: body.password, address: context.remoteAddress)
            var response = try JSONResponse.make(session)
            response.setCookie(
                Cookie(
                    name: AuthenticationMiddleware.cookieName, value: session.token,
                    maxAge: Int(CRM.Accounts.sessionLifetime), path: "/", httpOnly: true, sameSite: .strict))
            return response
        }
        api.post("logout") { _, context in
            if let token = context.token { try await crm.accounts.logout(token: token) }
            var response = try JSONResponse.make(Done())
            response.setCookie(Cookie(name: AuthenticationMiddleware.cookieName, value: "", maxAge: 0, path: "/", httpOnly: true))
            return response
        }
        api.get("me") { _, context in try JSONResponse.make(try context.requireCaller()) }
        api.post("me/password") { request, context in
            let caller = try context.requireCaller()
            let body = try await request.json(PasswordChange.self, context: context)
            try await crm.accounts.changePassword(caller, old: body.old, new: body.new, keepingSession: context.token)
            return try JSONResponse.make(Done())
        }
        api.get("users") { _, context in
            let caller = try context.requireCaller()
            return try await JSONResponse.make(try crm.accounts.users(caller))
        }
        api.post("users") { request, context in
            let caller = try context.requireCaller()
            let body = try await request.json(UserBody.self, context: context)
            try await crm.accounts.saveUser(
                caller, username: body.username, displayName: body.displayName, role: body.role, password: body.password,
                wardId: body.wardId, staffId: body.staffId, disabled: body.disabled ?? false)
            return try JSONResponse.make(CreatedID(id: body.username.lowercased()))
        }
        api.get("reference/:kind") { _, context in
            _ = try context.requireCaller()
            let kind = try referenceKind(context)
            return try await JSONResponse.make(try crm.organisation.references(kind))
        }
        api.put("reference/:kind/:id") { request, context in
            let caller = try context.requireCaller()
            let kind = try referenceKind(context)
            let body = try await request.json(ReferenceBody.self, context: context)
            let item = ReferenceItem(id: try context.parameters.id(), name: body.name, departmentId: body.departmentId, code: body.code, title: body.title)
            try await crm.organisation.saveReference(caller, kind, item)
            return try JSONResponse.make(CreatedID(id: item.id))
        }
        api.put("settings/:key") { request, context in
            let caller = try context.requireCaller()
            let key = try context.parameters.id("key")
            let body = try await request.json(SettingBody.self, context: context)
            try await crm.organisation.setSetting(caller, key: key, value: body.value)
            return try JSONResponse.make(Done())
        }
        api.put("calendar/:day") { request, context in
            let caller = try context.requireCaller()
            let day = try context.parameters.id("day")
            let body = try await request.json(CalendarBody.self, context: context)
            try await crm.organisation.setCalendarDay(caller, day: day, working: body.working, name: body.name)
            return try JSONResponse.make(Done())
        }
        api.get("audit") { request, context in
            let caller = try context.requireCaller()
            let page = try request.pageRequest()
            let entity = request.query("entityId")
            return try await JSONResponse.make(try crm.organisation.auditTrail(caller, entityId: entity, page: page))
        }
    }

    package static func referenceKind(_ context: APIRequestContext) throws -> ReferenceKind {
        let name = try context.parameters.id("kind")
        guard let kind = ReferenceKind(rawValue: name) else {
            throw CRMError(.notFound, "no reference list '\(name.prefix(20))' (lists: \(ReferenceKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return kind
    }
}

/// A reference entry as `PUT /api/reference/{kind}/{id}` takes it: the id is the path's.
struct ReferenceBody: Decodable {
    var name: String
    var departmentId: String?
    var code: String?
    var title: String?
}
