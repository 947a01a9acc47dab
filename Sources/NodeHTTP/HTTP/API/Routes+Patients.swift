import CRMDomain
import Foundation
import Hummingbird
import NodeRuntime

/// Patients, archives, merges, conflicts, encounters and the caller-ID lookup.
package enum PatientRoutes {
    package struct MergeBody: Codable { var survivorId: String; var mergedId: String; var reason: String? }
    package struct ResolveBody: Codable { var table: String; var rowId: String; var column: String; var value: String }
    package struct TransferBody: Codable { var toWardId: String; var toDepartmentId: String?; var at: String?; var bed: String? }
    package struct DischargeBody: Codable { var at: String; var status: DischargeStatus }

    package static func add(to api: RouterGroup<APIRequestContext>, crm: CRM) {
        api.get("patients") { request, context in
            let caller = try context.requireCaller()
            let page = try request.pageRequest()
            // An empty value is a value (`?dischargedTo=` is refused as a date), not an absent criterion.
            func value(_ name: String) -> String? { request.query(name) }
            let status = try value("status").map { text throws(CRMError) in
                guard let status = ArchiveQuery.StayStatus(rawValue: text) else { throw CRMError(.invalid, "status must be admitted, discharged, died or outpatient") }
                return status
            }
            let opinion = try value("opinion").map { text throws(CRMError) in
                guard let kind = OpinionInput.Kind(rawValue: text) else { throw CRMError(.invalid, "opinion must be important, praise or suggestion") }
                return kind
            }
            let query = ArchiveQuery(
                text: value("q"), contact: value("contact"), departmentId: value("departmentId"), wardId: value("wardId"), doctorId: value("doctorId"),
                diagnosis: value("diagnosis"), admittedFrom: value("admittedFrom"), admittedTo: value("admittedTo"),
                dischargedFrom: value("dischargedFrom"), dischargedTo: value("dischargedTo"), status: status, bed: value("bed"), opinion: opinion)
            return try await JSONResponse.make(try crm.patients.search(caller, query, page: page))
        }
        api.post("patients") { request, context in
            let caller = try context.requireCaller()
            try caller.require(.visitor, .agent, .manager, .admin)
            let input = try await request.json(PatientInput.self, context: context)
            return try await JSONResponse.make(CreatedID(id: try crm.patients.create(caller, input)), status: .created)
        }
        api.get("patients/duplicates") { _, context in
            let caller = try context.requireCaller()
            return try await JSONResponse.make(try crm.patients.duplicateCandidates(caller))
        }
        api.get("patients/:id") { _, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.id()
            return try await JSONResponse.make(try crm.patients.archive(caller, patientId: id))
        }
        api.patch("patients/:id") { request, context in
            let caller = try context.requireCaller()
            try caller.require(.visitor, .agent, .manager, .admin)
            let id = try context.parameters.id()
            let input = try await request.json(PatientInput.self, context: context)
            try await crm.patients.update(caller, id: id, input)
            return try JSONResponse.make(Done())
        }
        api.post("merges") { request, context in
            let caller = try context.requireCaller()
            let body = try await request.json(MergeBody.self, context: context)
            let id = try await crm.patients.merge(caller, survivorId: body.survivorId, mergedId: body.mergedId, reason: body.reason)
            return try JSONResponse.make(CreatedID(id: id), status: .created)
        }
        api.post("merges/:id/undo") { _, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.id()
            try await crm.patients.undoMerge(caller, mergeId: id)
            return try JSONResponse.make(Done())
        }
        api.get("conflicts") { _, context in
            let caller = try context.requireCaller()
            return try JSONResponse.make(try crm.patients.conflictInbox(caller))
        }
        api.post("conflicts/resolve") { request, context in
            let caller = try context.requireCaller()
            let body = try await request.json(ResolveBody.self, context: context)
            try await crm.patients.resolveConflict(caller, table: body.table, rowId: body.rowId, column: body.column, value: body.value)
            return try JSONResponse.make(Done())
        }
        api.get("callerid") { request, context in
            // People with their session, or the phone system with a machine credential (screen-pop).
            let caller =
                if context.machine != nil {
                    Caller(userId: "machine:" + (try context.requireMachine(.screenPop)).name, role: .agent)
                } else {
                    try context.requireCaller()
                }
            let phone = try request.requireQuery("phone")
            return try await JSONResponse.make(try crm.patients.lookupCaller(caller, phone: phone))
        }
        api.post("encounters") { request, context in
            let caller = try context.requireCaller()
            try caller.require(.visitor, .agent, .manager, .admin)
            let input = try await request.json(EncounterInput.self, context: context)
            return try await JSONResponse.make(CreatedID(id: try crm.encounters.record(caller, input)), status: .created)
        }
        api.get("encounters/:id") { _, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.id()
            return try await JSONResponse.make(try crm.encounters.encounter(caller, id))
        }
        api.post("encounters/:id/transfer") { request, context in
            let caller = try context.requireCaller()
            try caller.require(.visitor, .agent, .manager, .admin)
            let id = try context.parameters.id()
            let body = try await request.json(TransferBody.self, context: context)
            try await crm.encounters.transfer(caller, encounterId: id, toWardId: body.toWardId, toDepartmentId: body.toDepartmentId, at: body.at, bed: body.bed)
            return try JSONResponse.make(Done())
        }
        api.post("encounters/:id/discharge") { request, context in
            let caller = try context.requireCaller()
            try caller.require(.visitor, .agent, .manager, .admin)
            let id = try context.parameters.id()
            let body = try await request.json(DischargeBody.self, context: context)
            try await crm.encounters.discharge(caller, encounterId: id, at: body.at, status: body.status)
            return try JSONResponse.make(Done())
        }
        api.post("encounters/:id/cancel-discharge") { _, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.id()
            try await crm.encounters.cancelDischarge(caller, encounterId: id)
            return try JSONResponse.make(Done())
        }
        api.post("encounters/:id/cancel") { _, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.id()
            try await crm.encounters.cancel(caller, encounterId: id)
            return try JSONResponse.make(Done())
        }
        api.get("wards/:id/patients") { _, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.id()
            return try await JSONResponse.make(try crm.encounters.wardPatients(caller, wardId: id))
        }
    }
}
