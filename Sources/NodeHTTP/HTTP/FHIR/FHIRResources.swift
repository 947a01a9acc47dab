import CRMDomain
import Foundation

/// Suifang's records as FHIR R4 (4.0.1) resources, built as JSON values.
enum FHIRResources {
    typealias JSON = JSONValue

    static func string(_ text: String?) -> JSON? { text.map(JSON.string) }

    /// An object without its absent members.
    static func object(_ members: [String: JSON?]) -> JSON {
        .object(members.compactMapValues { $0 })
    }

    static func reference(_ type: String, _ id: String) -> JSON {
        .object(["reference": .string("\(type)/\(FHIRID.encode(id))")])
    }

    /// A patient's card. A merged-away card is inactive and names its survivor (`replaced-by`).
    static func patient(_ patient: Patient, survivor: String?) -> JSON {
        var identifiers: [JSON] = [.object(["system": .string("urn:suifang:patient"), "value": .string(patient.id)])]
        if patient.id.hasPrefix("his-") {
            identifiers.append(.object(["system": .string("urn:suifang:his-patient"), "value": .string(String(patient.id.dropFirst(4)))]))
        }
        if let number = patient.idNumber {
            identifiers.append(.object(["system": .string("urn:suifang:resident-id"), "value": .string(number)]))
        }
        var links: JSON?
        if let survivor {
            links = .array([.object(["other": reference("Patient", survivor), "type": .string("replaced-by")])])
        }
        return object([
            "resourceType": .string("Patient"), "id": .string(FHIRID.encode(patient.id)), "identifier": .array(identifiers),
            "active": .bool(survivor == nil), "name": patient.name.isEmpty ? nil : .array([.object(["text": .string(patient.name)])]),
            "telecom": patient.phone.map { .array([.object(["system": .string("phone"), "value": .string($0)])]) },
            "gender": patient.gender.map { .string(["male", "female"].contains($0) ? $0 : "unknown") },
            "birthDate": string(patient.birthDate), "address": patient.address.map { .array([.object(["text": .string($0)])]) }, "link": links,
        ])
    }

    /// An admission or outpatient visit.
    static func encounter(_ encounter: Encounter, wardName: String?) -> JSON {
        let status = encounter.cancelled ? "entered-in-error" : (encounter.kind == "outpatient" || encounter.dischargedAt != nil ? "finished" : "in-progress")
        let inpatient = encounter.kind == "inpatient"
        let base = encounter.id.split(separator: "~").first.map(String.init) ?? encounter.id
        return object([
            "resourceType": .string("Encounter"), "id": .string(FHIRID.encode(encounter.id)),
            "identifier": base.hasPrefix("his-") ? .array([.object(["system": .string("urn:suifang:his-visit"), "value": .string(String(base.dropFirst(4)))])]) : nil,
            "status": .string(status),
            "class": .object([
                "system": .string("http://terminology.hl7.org/CodeSystem/v3-ActCode"), "code": .string(inpatient ? "IMP" : "AMB"),
                "display": .string(inpatient ? "inpatient encounter" : "ambulatory"),
            ]),
            "subject": reference("Patient", encounter.patientId),
            "period": object(["start": .string(encounter.admittedAt), "end": string(encounter.dischargedAt)]),
            "reasonCode": encounter.diagnosisCode.map { code in
                .array([.object(["coding": .array([.object(["system": .string("http://hl7.org/fhir/sid/icd-10"), "code": .string(code)])])])])
            },
            "hospitalization": encounter.dischargeStatus.map { .object(["dischargeDisposition": .object(["text": .string($0)])]) },
            "location": encounter.wardId.map { ward in
                .array([.object(["location": object(["identifier": .object(["system": .string("urn:suifang:ward"), "value": .string(ward)]), "display": string(wardName)])])])
            },
        ])
    }

    /// The id of a template version as a Questionnaire: `<template>-v<version>`.
    static func questionnaireID(_ template: String, _ version: Int) -> String {
        FHIRID.encode("\(template)-v\(version)")
    }

    /// A template version, its questions as items (skip logic as `enableWhen`).
    static func questionnaire(_ template: SurveyTemplate, base: String) -> JSON {
        let id = questionnaireID(template.id, template.version)
        let items: [JSON] = template.definition.questions.map { question in
            var type = "choice"
            var options: [JSON]?
            var repeats: JSON?
            switch question.type {
            case .single: options = (question.options ?? []).map { .object(["valueCoding": .object(["code": .string($0.value), "display": .string($0.label)])]) }
            case .multiple:
                options = (question.options ?? []).map { .object(["valueCoding": .object(["code": .string($0.value), "display": .string($0.label)])]) }
                repeats = .bool(true)
            case .scale5: options = (1...5).map { .object(["valueInteger": .number(Double($0))]) }
            case .nps: type = "integer"
            case .text: type = "text"
            }
            let enableWhen: JSON? = question.showIf.map { condition in
                .array(
                    condition.equals.map { value in
                        .object(["question": .string(condition.question), "operator": .string("="), "answerCoding": .object(["code": .string(value)])])
                    })
            }
            return object([
                "linkId": .string(question.id), "text": .string(question.text), "type": .string(type), "required": question.required.map(JSON.bool),
                "repeats": repeats, "answerOption": options.map(JSON.array), "enableWhen": enableWhen,
                "enableBehavior": (question.showIf?.equals.count ?? 0) > 1 ? .string("any") : nil,
                "maxLength": question.maxLength.map { .number(Double($0)) },
            ])
        }
        return object([
            "resourceType": .string("Questionnaire"), "id": .string(id), "url": .string("\(base)/Questionnaire/\(id)"),
            "version": .string(String(template.version)), "title": .string(template.name),
            "status": .string(template.active && template.version == template.currentVersion ? "active" : "retired"),
            "subjectType": .array([.string("Patient")]), "item": .array(items),
        ])
    }

    /// A response: answers typed by the template version's questions; the survey mode as an
    /// extension and the ward as a tag.
    static func questionnaireResponse(_ response: StoredSurveyResponse, template: SurveyTemplate?, base: String) -> JSON {
        let types = Dictionary((template?.definition.questions ?? []).map { ($0.id, $0.type) }, uniquingKeysWith: { first, _ in first })
        let order = (template?.definition.questions ?? []).map(\.id)
        let keys = order.filter { response.answers[$0] != nil } + response.answers.keys.filter { !order.contains($0) }.sorted()
        let items: [JSON] = keys.compactMap { key in
            guard let value = response.answers[key] else { return nil }
            let answers = answerValues(value, type: types[key])
            return answers.isEmpty ? nil : .object(["linkId": .string(key), "answer": .array(answers)])
        }
        var tags: [JSON] = []
        if let ward = response.wardId { tags.append(.object(["system": .string("urn:suifang:ward"), "code": .string(ward)])) }
        if let department = response.departmentId { tags.append(.object(["system": .string("urn:suifang:department"), "code": .string(department)])) }
        return object([
            "resourceType": .string("QuestionnaireResponse"), "id": .string(FHIRID.encode(response.id)),
            "meta": tags.isEmpty ? nil : .object(["tag": .array(tags)]),
            "extension": .array([.object(["url": .string("urn:suifang:fhir:survey-mode"), "valueCode": .string(response.mode)])]),
            "questionnaire": .string("\(base)/Questionnaire/\(questionnaireID(response.templateId, response.templateVersion))"),
            "status": .string("completed"), "subject": reference("Patient", response.patientId), "authored": .string(response.submittedAt),
            "item": items.isEmpty ? nil : .array(items),
        ])
    }

    static func answerValues(_ value: JSONValue, type: SurveyDefinition.QuestionType?) -> [JSON] {
        switch (value, type) {
        case (.array(let values), _): return values.flatMap { answerValues($0, type: type) }
        case (.number(let number), _) where number.rounded() == number: return [.object(["valueInteger": .number(number)])]
        case (.number(let number), _): return [.object(["valueDecimal": .number(number)])]
        case (.string(let text), .single?), (.string(let text), .multiple?): return [.object(["valueCoding": .object(["code": .string(text)])])]
        case (.string(let text), _): return text.isEmpty ? [] : [.object(["valueString": .string(text)])]
        case (.bool(let flag), _): return [.object(["valueBoolean": .bool(flag)])]
        default: return []
        }
    }

    /// A search result: entries, the total when known, and self/next links.
    static func bundle(_ entries: [(type: String, id: String, resource: JSON)], base: String, selfURL: String, nextURL: String?, total: Int?) -> JSON {
        var links: [JSON] = [.object(["relation": .string("self"), "url": .string(selfURL)])]
        if let nextURL { links.append(.object(["relation": .string("next"), "url": .string(nextURL)])) }
        return object([
            "resourceType": .string("Bundle"), "type": .string("searchset"), "total": total.map { .number(Double($0)) }, "link": .array(links),
            "entry": .array(
                entries.map { entry in
                    .object([
                        "fullUrl": .string("\(base)/\(entry.type)/\(entry.id)"), "resource": entry.resource, "search": .object(["mode": .string("match")]),
                    ])
                }),
        ])
    }

    /// What went wrong, as FHIR says it.
    static func operationOutcome(code: String, _ text: String) -> JSON {
        .object([
            "resourceType": .string("OperationOutcome"),
            "issue": .array([.object(["severity": .string("error"), "code": .string(code), "diagnostics": .string(text)])]),
        ])
    }

    /// What this server does.
    static func capabilityStatement(base: String, date: String) -> JSON {
        func resource(_ type: String, _ interaction: String, _ parameters: [(String, String)]) -> JSON {
            object([
                "type": .string(type), "interaction": .array([.object(["code": .string(interaction)])]),
                "searchParam": parameters.isEmpty ? nil : .array(parameters.map { .object(["name": .string($0.0), "type": .string($0.1)]) }),
            ])
        }
        return .object([
            "resourceType": .string("CapabilityStatement"), "status": .string("active"), "date": .string(date), "kind": .string("instance"),
            "fhirVersion": .string("4.0.1"), "format": .array([.string("json")]),
            "software": .object(["name": .string("Suifang")]),
            "implementation": .object(["description": .string("Suifang follow-up archive (read only)"), "url": .string(base)]),
            "rest": .array([
                .object([
                    "mode": .string("server"),
                    "security": .object([
                        "description": .string(
                            "Authorization: Bearer with a machine credential of scope fhir (suifang token create --scope fhir) or a manager's or administrator's session")
                    ]),
                    "resource": .array([
                        resource("Patient", "read", []), resource("Encounter", "search-type", [("patient", "reference")]),
                        resource("Questionnaire", "read", []), resource("QuestionnaireResponse", "search-type", [("authored", "date")]),
                    ]),
                ])
            ]),
        ])
    }
}
