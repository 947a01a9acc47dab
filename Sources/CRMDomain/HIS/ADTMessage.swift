import Foundation
import HL7

/// The ADT events Suifang takes from the HIS, by trigger event (MSH-9.2).
public enum ADTTrigger: String, CaseIterable, Codable, Sendable {
    case admit = "A01"
    case transfer = "A02"
    case discharge = "A03"
    case register = "A04"
    case updatePatient = "A08"
    case cancelAdmit = "A11"
    case cancelTransfer = "A12"
    case cancelDischarge = "A13"
    case addPerson = "A28"
    case updatePerson = "A31"
    case merge = "A40"

    /// Whether the event is about a visit (needs PV1-19), not only the person.
    var concernsVisit: Bool { ![.updatePatient, .addPerson, .updatePerson, .merge].contains(self) }
}

/// The patient as PID describes them (HIS ids, not Suifang's).
public struct HISPatient: Sendable, Equatable {
    /// PID-3: the repetition typed PI or MR, else the first.
    public var hisId: String
    public var name: String?
    public var gender: String?
    public var birthDate: String?
    /// The resident ID number: a PID-3 repetition typed NNCHN, NI or ID, else PID-19.
    public var idNumber: String?
    public var phone: String?
    public var address: String?
    /// NK1-2 of the first NK1 (next of kin, the contact person), joined as PID-5 is.
    public var contactName: String?
    /// NK1-5 of that NK1.
    public var contactPhone: String?
}

/// The visit as PV1 (and DG1) describe it, with HIS codes still unmapped.
public struct HISVisit: Sendable, Equatable {
    /// PV1-19, else PID-18.
    public var visitNumber: String?
    /// PV1-2 I → inpatient; O, E and the rest → outpatient.
    public var inpatient: Bool
    /// PV1-3.1 (point of care).
    public var wardCode: String?
    /// PV1-3.3 (bed).
    public var bed: String?
    /// PV1-10 (hospital service).
    public var departmentCode: String?
    /// PV1-7.1 (attending doctor).
    public var doctorCode: String?
    /// PV1-36 (discharge disposition).
    public var dispositionCode: String?
    /// DG1-3.1 of the first DG1.
    public var diagnosisCode: String?
    /// PV1-44, else EVN-6, EVN-2, MSH-7 (ISO-8601).
    public var admittedAt: String?
    /// PV1-45, else the event time.
    public var dischargedAt: String?
}

/// One ADT message, read: what happened, to whom, in which visit, when.
public struct ADTMessage: Sendable {
    public var trigger: ADTTrigger
    public var controlID: String
    /// EVN-6 (occurred), else EVN-2 (recorded), else MSH-7 (ISO-8601).
    public var eventTime: String
    public var patient: HISPatient
    public var visit: HISVisit
    /// A40: MRG-1, the patient id merged into ``patient``.
    public var mergedPatientId: String?

    /// The HIS's ids are kept as Suifang keys: letters, digits, '.', '_' and '-', at most 40.
    static func isKey(_ text: String) -> Bool {
        (1...40).contains(text.count) && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") }
    }

    /// Reads a parsed message.
    /// - Throws: ``HL7Error``: unsupported type or event (AR), a missing or malformed required
    ///   field (AR). Messages name the field, never its value.
    public init(_ message: HL7Message, localOffsetSeconds: Int) throws(HL7Error) {
        let msh = message.header
        guard msh.value(9, component: 1) == "ADT" else {
            throw HL7Error(.unsupportedMessageType, "Suifang takes ADT messages only", at: "MSH^9")
        }
        guard let triggerCode = msh.value(9, component: 2), let trigger = ADTTrigger(rawValue: triggerCode) else {
            throw HL7Error(
                .unsupportedEventCode, "Suifang takes ADT \(ADTTrigger.allCases.map(\.rawValue).joined(separator: ", ")) only", at: "MSH^9")
        }
        guard let controlID = msh.value(10), controlID.count <= 199 else { throw HL7Error(.requiredFieldMissing, "MSH-10 (message control id) is required", at: "MSH^10") }
        if let version = msh.value(12), !version.hasPrefix("2.") {
            throw HL7Error(.unsupportedVersion, "Suifang reads HL7 version 2.x", at: "MSH^12")
        }
        self.trigger = trigger
        self.controlID = controlID

        func time(_ segment: HL7Segment?, _ field: Int, _ location: String) throws(HL7Error) -> String? {
            guard let value = segment?.value(field) else { return nil }
            guard let iso = HL7Time.iso8601(value, localOffsetSeconds: localOffsetSeconds) else {
                throw HL7Error(.dataType, "\(location.replacingOccurrences(of: "^", with: "-")) is not an HL7 date-time", at: location)
            }
            return iso
        }
        let evn = message.segment("EVN")
        let occurred = try time(evn, 6, "EVN^6"), recorded = try time(evn, 2, "EVN^2"), sent = try time(msh, 7, "MSH^7")
        guard let eventTime = occurred ?? recorded ?? sent else {
            throw HL7Error(.requiredFieldMissing, "the event needs a time: EVN-6, EVN-2 or MSH-7", at: "MSH^7")
        }
        self.eventTime = eventTime

        guard let pid = message.segment("PID") else { throw HL7Error(.segmentSequence, "the message has no PID segment", at: "PID") }
        patient = try Self.patient(pid)
        if let kin = message.segment("NK1") {
            patient.contactName = kin.field(2).repetitions.first.flatMap(Self.personName)
            patient.contactPhone = kin.field(5).repetitions.lazy.compactMap { $0.component(1) ?? $0.component(12) }.first
        }

        let pv1 = message.segment("PV1")
        if trigger.concernsVisit && pv1 == nil { throw HL7Error(.segmentSequence, "ADT^\(trigger.rawValue) needs a PV1 segment", at: "PV1") }
        let visitNumber = pv1?.value(19) ?? pid.value(18)
        if trigger.concernsVisit {
            guard let visitNumber else { throw HL7Error(.requiredFieldMissing, "PV1-19 (visit number) is required", at: "PV1^19") }
            guard Self.isKey(visitNumber) else {
                throw HL7Error(.dataType, "PV1-19 must be 1-40 of A-Z, a-z, 0-9, '.', '_' or '-'", at: "PV1^19")
            }
        }
        let patientClass = pv1?.value(2)?.uppercased()
        let admitted = try time(pv1, 44, "PV1^44"), discharged = try time(pv1, 45, "PV1^45")
        visit = HISVisit(
            visitNumber: visitNumber,
            inpatient: trigger == .register ? false : (patientClass.map { $0 == "I" } ?? true),
            wardCode: pv1?.value(3, component: 1), bed: pv1?.value(3, component: 3), departmentCode: pv1?.value(10), doctorCode: pv1?.value(7, component: 1),
            dispositionCode: pv1?.value(36), diagnosisCode: message.segment("DG1")?.value(3, component: 1),
            admittedAt: admitted ?? eventTime, dischargedAt: discharged ?? eventTime)

        if trigger == .merge {
            let prior = message.segment("MRG")?.field(1).repetitions ?? []
            let typedPrior = prior.first { ["PI", "MR"].contains($0.component(5)?.uppercased() ?? "") } ?? prior.first
            guard let merged = typedPrior?.component(1) else {
                throw HL7Error(.requiredFieldMissing, "ADT^A40 needs MRG-1 (the prior patient id)", at: "MRG^1")
            }
            guard Self.isKey(merged) else { throw HL7Error(.dataType, "MRG-1 must be 1-40 of A-Z, a-z, 0-9, '.', '_' or '-'", at: "MRG^1") }
            mergedPatientId = merged
        }
    }

    /// An XPN as people write it: 张三 (family then given, no space), or "John Smith".
    private static func personName(_ name: HL7Repetition) -> String? {
        let family = name.component(1) ?? "", given = name.component(2) ?? ""
        let isLatin = (family + given).allSatisfy { $0.isASCII }
        let joined = isLatin ? [given, family].filter { !$0.isEmpty }.joined(separator: " ") : family + given
        return joined.isEmpty ? nil : joined
    }

    private static func patient(_ pid: HL7Segment) throws(HL7Error) -> HISPatient {
        let identifiers = pid.field(3).repetitions
        let typed = { (types: Set<String>) in identifiers.first { ($0.component(5)?.uppercased()).map(types.contains) == true } }
        guard let hisId = (typed(["PI", "MR"]) ?? identifiers.first)?.component(1) else {
            throw HL7Error(.requiredFieldMissing, "PID-3 (patient identifier) is required", at: "PID^3")
        }
        guard isKey(hisId) else { throw HL7Error(.dataType, "PID-3 must be 1-40 of A-Z, a-z, 0-9, '.', '_' or '-'", at: "PID^3") }
        let name = pid.field(5).repetitions.first.flatMap(personName)
        let gender: String? = pid.value(8).map { value in
            switch value.uppercased() {
            case "M", "1": "male"
            case "F", "2": "female"
            default: "unknown"
            }
        }
        let birthDate: String?
        if let value = pid.value(7) {
            guard let day = HL7Time.day(value) else { throw HL7Error(.dataType, "PID-7 is not an HL7 date", at: "PID^7") }
            birthDate = day
        } else {
            birthDate = nil
        }
        let phone = (pid.field(13).repetitions + pid.field(14).repetitions).lazy.compactMap { $0.component(1) ?? $0.component(12) }.first
        let address = pid.field(11).repetitions.first.flatMap { address in
            let parts = [4, 3, 1, 2].compactMap { address.component($0) }
            return parts.isEmpty ? nil : parts.joined()
        }
        return HISPatient(
            hisId: hisId, name: name, gender: gender, birthDate: birthDate,
            idNumber: typed(["NNCHN", "NI", "ID", "CZ"])?.component(1) ?? pid.value(19), phone: phone, address: address)
    }
}
