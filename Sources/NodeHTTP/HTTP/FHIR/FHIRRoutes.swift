import CRMDomain
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NodeRuntime

/// FHIR R4 read access under `/fhir` (docs/INTEGRATION.md): `Patient/{id}`, `Encounter?patient=`,
/// `Questionnaire/{id}`, `QuestionnaireResponse?authored=ge…&_count=`, and `metadata`. JSON only
/// (`application/fhir+json`); errors are OperationOutcomes. Readers: a machine credential of scope
/// `fhir`, or a manager's or administrator's session. Patient reads are audited as archive reads.
package enum FHIRRoutes {
    static let contentType = "application/fhir+json; charset=utf-8"

    package static func add(to router: Router<APIRequestContext>, crm: CRM) {
        let fhir = router.group("/fhir")
        fhir.get("metadata") { request, _ in
            respond { FHIRResources.capabilityStatement(base: base(request), date: crm.currentTimestamp()) }
        }
        fhir.get("Patient/:id") { request, context in
            await respond {
                let caller = try reader(context)
                let id = try decodedID(context)
                let archive = try await crm.patients.archive(caller, patientId: id)
                // The card asked for: a merged-away one names its survivor.
                if archive.redirectedFrom != nil, let card = archive.mergedPatients.first(where: { $0.id == id }) {
                    return FHIRResources.patient(card, survivor: archive.patient.id)
                }
                return FHIRResources.patient(archive.patient, survivor: nil)
            }
        }
        fhir.get("Encounter") { request, context in
            await respond {
                let caller = try reader(context)
                guard let subject = request.query("patient") ?? request.query("subject") else {
                    throw CRMError(.invalid, "search Encounter by patient: Encounter?patient=<id>")
                }
                let reference = subject.hasPrefix("Patient/") ? String(subject.dropFirst(8)) : subject
                guard let id = FHIRID.decode(reference) else { throw CRMError(.invalid, "patient must be a Patient id") }
                let archive = try await crm.patients.archive(caller, patientId: id)
                let wards = Dictionary(try await crm.organisation.references(.ward).map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
                let entries = archive.encounters.map { encounter in
                    (type: "Encounter", id: FHIRID.encode(encounter.id), resource: FHIRResources.encounter(encounter, wardName: encounter.wardId.flatMap { wards[$0] }))
                }
                let root = base(request)
                return FHIRResources.bundle(entries, base: root, selfURL: "\(root)/Encounter?patient=\(FHIRID.encode(id))", nextURL: nil, total: entries.count)
            }
        }
        fhir.get("Questionnaire/:id") { request, context in
            await respond {
                _ = try reader(context)
                let id = try decodedID(context)
                guard let marker = id.range(of: "-v", options: .backwards), let version = Int(id[marker.upperBound...]), version > 0 else {
                    throw CRMError(.notFound, "no Questionnaire with that id (ids are <template>-v<version>)")
                }
                let template = try await crm.surveys.template(String(id[..<marker.lowerBound]), version: version)
                return FHIRResources.questionnaire(template, base: base(request))
            }
        }
        fhir.get("QuestionnaireResponse") { request, context in
            await respond {
                let caller = try reader(context)
                let since = try authoredLowerBound(request.query("authored"), crm: crm)
                let count =
                    try request.query("_count").map { text throws(CRMError) in
                        guard let count = Int(text), (1...PageRequest.maximumLimit).contains(count) else {
                            throw CRMError(.invalid, "_count must be 1–\(PageRequest.maximumLimit)")
                        }
                        return count
                    } ?? 50
                let after = try request.query("_after").flatMap { $0.isEmpty ? nil : $0 }.map { text throws(CRMError) in
                    guard let id = FHIRID.decode(text) else { throw CRMError(.invalid, "_after is not a cursor this server wrote") }
                    return id
                }
                let page = try await crm.surveys.responses(caller, since: since, page: try PageRequest(after: after, limit: count))
                var templates: [String: SurveyTemplate] = [:]
                var entries: [(type: String, id: String, resource: JSONValue)] = []
                let root = base(request)
                for response in page.items {
                    let key = "\(response.templateId)#\(response.templateVersion)"
                    if templates[key] == nil { templates[key] = try? await crm.surveys.template(response.templateId, version: response.templateVersion) }
                    entries.append(
                        (
                            type: "QuestionnaireResponse", id: FHIRID.encode(response.id),
                            resource: FHIRResources.questionnaireResponse(response, template: templates[key], base: root)
                        ))
                }
                var query = "_count=\(count)"
                if let authored = request.query("authored") { query = "authored=\(FHIRRoutes.percentEncoded(authored))&" + query }
                return FHIRResources.bundle(
                    entries, base: root, selfURL: "\(root)/QuestionnaireResponse?\(query)",
                    nextURL: page.next.map { "\(root)/QuestionnaireResponse?\(query)&_after=\(FHIRID.encode($0))" }, total: nil)
            }
        }
    }

    /// A machine credential of scope `fhir`, or a manager's or administrator's session; a machine reads as a manager.
    static func reader(_ context: APIRequestContext) throws -> Caller {
        if context.machine != nil {
            let machine = try context.requireMachine(.fhir)
            return Caller(userId: "machine:\(machine.name)", role: .manager)
        }
        let caller = try context.requireCaller()
        try caller.require(.manager, .admin)
        return caller
    }

    static func decodedID(_ context: APIRequestContext) throws -> String {
        guard let id = FHIRID.decode(try context.parameters.id()) else { throw CRMError(.notFound, "no resource with that id") }
        return id
    }

    /// `authored=geYYYY-MM-DD[Thh:mm:ss±zz:zz]` (or `gt`, or a bare date, read as `ge`) as the
    /// lowest stored timestamp to return.
    static func authoredLowerBound(_ value: String?, crm: CRM) throws -> String? {
        guard var text = value else { return nil }
        for prefix in ["ge", "gt", "eq"] where text.hasPrefix(prefix) { text = String(text.dropFirst(2)) }
        if crm.time.isDay(text) { return text }
        guard let stamp = crm.time.normalizedTimestamp(text) else {
            throw CRMError(.invalid, "authored must be ge followed by a date (yyyy-MM-dd) or a date-time with its offset")
        }
        return stamp
    }

    /// `https://<host>/fhir`, from the request's Host.
    static func base(_ request: Request) -> String {
        "https://\(request.head.authority ?? "localhost")/fhir"
    }

    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~:"))) ?? ""
    }

    /// Runs `body`, answering its resource, or an OperationOutcome with the status the error means.
    static func respond(_ body: () async throws -> JSONValue) async -> Response {
        do {
            return try json(try await body(), status: .ok)
        } catch let error as CRMError {
            let (status, code): (HTTPResponse.Status, String) =
                switch error.kind {
                case .invalid: (.badRequest, "invalid")
                case .unprocessable: (.unprocessableContent, "business-rule")
                case .unauthenticated: (.unauthorized, "login")
                case .forbidden: (.forbidden, "forbidden")
                case .notFound: (.notFound, "not-found")
                case .conflict: (.conflict, "conflict")
                case .throttled: (.tooManyRequests, "throttled")
                }
            return (try? json(FHIRResources.operationOutcome(code: code, error.message), status: status)) ?? Response(status: .internalServerError)
        } catch {
            return (try? json(FHIRResources.operationOutcome(code: "exception", "the server could not answer"), status: .internalServerError))
                ?? Response(status: .internalServerError)
        }
    }

    static func respond(_ body: () throws -> JSONValue) -> Response {
        (try? json(try body(), status: .ok)) ?? Response(status: .internalServerError)
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}
