import Foundation
import GRDB
import Replica

extension CRM.Surveys {
    /// The archive kiosk answers are filed under: a kiosk asks no one's name.
    public static let anonymousPatientID = "anonymous"

    /// The template a department's kiosk shows: an active one of purpose `kiosk`, else `outpatient`,
    /// else `general`.
    public func kioskTemplate() async throws -> SurveyTemplate {
        for purpose in ["kiosk", "outpatient", "general"] {
            if let template = try? await surveyTemplate(purpose: purpose, diagnosisCode: nil) { return template }
        }
        throw CRMError(.notFound, "no active kiosk, outpatient or general survey template; a manager creates one first")
    }

    /// Records a kiosk's answers (mode `kiosk`) for a department, filed under the anonymous archive
    /// and staffed by the kiosk's credential name. Idempotent by `responseId` like every response.
    public func submitKiosk(
        kiosk: String, departmentId: String, responseId: String, templateId: String, templateVersion: Int, answers: [String: JSONValue],
        opinion: OpinionInput?, capturedAt: String
    ) async throws -> SubmissionReceipt {
        let caller = Caller(userId: "kiosk:" + kiosk, role: .agent)
        return try await replica.write { tx in
            guard try Bool.fetchOne(tx.db, sql: "SELECT 1 FROM department WHERE id = ?", arguments: [departmentId]) == true else {
                throw CRMError.notFound("department", departmentId)
            }
            if !(try tx.rowExists("patient", id: Self.anonymousPatientID)) {
                try tx.insert(
                    PatientRecord(
                        id: Self.anonymousPatientID, name: "匿名（自助机）", gender: "unknown", birthDate: nil, idNumber: nil, phone: nil, address: nil,
                        region: nil, category: "anonymous", tags: SetCodec.text([]), firstVisit: nil, createdAt: timestamp()))
            }
            return try submit(
                tx, caller,
                SurveySubmission(
                    id: responseId, templateId: templateId, templateVersion: templateVersion, patientId: Self.anonymousPatientID,
                    departmentId: departmentId, mode: .kiosk, staffId: caller.userId, submittedAt: capturedAt, answers: answers,
                    opinions: opinion.map { [$0] }))
        }
    }
}
