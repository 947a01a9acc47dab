import CRMDomain
import Foundation
import GRDB
import Replica
import ServiceLifecycle

/// Synthetic bedside traffic for testnets: a visitor of the node's ward (an agent on central and
/// call centers) submits bedside surveys
/// through the domain at a steady rate (checked, audited and captured like any user's), and each
/// acknowledged response id is appended to a log file, so a testnet can check that no
/// acknowledged write went missing. Rows carry made-up content only, never patient data.
///
/// It needs the testnet's survey template (``templateID``, which central writes, see
/// ``seedTemplate(_:)``); until it has reached this node, the service waits for it.
package struct TrafficService: Service {
    /// The template testnet traffic answers.
    package static let templateID = "testnet"
    /// A table and a column only a later release's policies declare (`testnets/rolling-upgrade.json`
    /// adds them): a node that declares both also writes a probe row and the probe column with
    /// each response, and logs the probe's id beside the response's (`LOG.probes`), so a testnet
    /// checks that what a newer node writes survives older ones.
    package static let probeTable = "testnetProbe", probeColumn = "probeNote"

    package let crm: CRM
    package let nodeName: String
    package let perSecond: Double
    package let seconds: Double
    /// Stop after this many writes, if given (counting those a previous run of the node logged).
    package var total: Int? = nil
    package let logPath: String

    package func run() async throws {
        try await runUntilShutdown { try await generate() }
    }

    /// Writes the testnet's template on central, through the domain (a one-question bedside survey).
    package static func seedTemplate(_ crm: CRM, wards: [String] = []) async throws {
        // The wards the traffic admits its patient to (a ward node holds the patients of its wards).
        if !wards.isEmpty {
            try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-TESTNET", name: "testnet"))
            for ward in wards {
                try await crm.organisation.saveReference(.system, .ward, ReferenceItem(id: ward, name: ward, departmentId: "D-TESTNET"))
            }
        }
        let nps = SurveyDefinition.Question(id: "nps", text: "推荐意愿", type: .nps, required: true, role: .recommend)
        _ = try await crm.surveys.saveTemplate(
            .system, id: templateID, name: "testnet", purpose: "bedside", diseaseCode: nil, definition: SurveyDefinition(questions: [nps]))
    }

    private func generate() async throws {
        if !FileManager.default.fileExists(atPath: logPath) { FileManager.default.createFile(atPath: logPath, contents: nil) }
        guard let log = FileHandle(forWritingAtPath: logPath) else { return }
        log.seekToEndOfFile()
        defer { try? log.close() }
        let interval = 1 / max(perSecond, 0.001)
        let deadline = ContinuousClock.now + .seconds(seconds)
        // On a ward node, a bedside visitor of its ward; on central and call centers, an agent
        // (a visitor reaches only the patients of its ward, and those nodes have none).
        let visitor = crm.replica.ownScope != nil ? Caller(userId: "traffic", role: .visitor, wardId: nodeName) : Caller(userId: "traffic", role: .agent)
        // Traffic on central alone (no testnet seeding it): central writes the template itself.
        if crm.replica.role == .central, (try? await crm.surveys.template(Self.templateID)) == nil { try await Self.seedTemplate(crm) }
        let patient = try await crm.patients.create(.system, PatientInput(name: "TESTNET"))
        if crm.replica.ownScope != nil {
            // A ward node holds the patients of its wards: the traffic's patient is admitted to it.
            _ = try await crm.encounters.record(
                visitor, EncounterInput(patientId: patient, kind: "inpatient", wardId: nodeName, admittedAt: crm.currentTimestamp()))
        }
        let probePath = logPath + ".probes"
        if !FileManager.default.fileExists(atPath: probePath) { FileManager.default.createFile(atPath: probePath, contents: nil) }
        let probes = FileHandle(forWritingAtPath: probePath)
        probes?.seekToEndOfFile()
        defer { try? probes?.close() }
        // A restarted node goes on counting from what it logged before.
        var count = (try? String(contentsOfFile: logPath, encoding: .utf8))?.split(separator: "\n").count ?? 0
        while ContinuousClock.now < deadline, count < (total ?? .max), !Task.isCancelled {
            // A ward node also answers for the patients central moves into its ward (testnets with
            // `transfers`): their rows then travel with them from ward to ward.
            let answered = try await patientToAnswer(otherwise: patient)
            let submission = SurveySubmission(
                id: crm.replica.makeRowID(), templateId: Self.templateID, templateVersion: 1, patientId: answered, wardId: nodeName,
                mode: .bedside, submittedAt: crm.currentTimestamp(), answers: ["nps": .number(Double((count + 1) % 11))])
            do {
                let receipt = try await crm.surveys.submit(visitor, submission)
                count += 1
                log.write(Data("\(receipt.id)\n".utf8))
                if let probe = try await writeProbe(survey: receipt.id, patient: patient) { probes?.write(Data("\(probe)\n".utf8)) }
            } catch is CRMError {
                // Not acknowledged, so not logged: the template has not reached this node yet, or
                // the submission was refused; traffic goes on either way.
            }
            try? await Task.sleep(for: .seconds(interval))
        }
    }

    /// When this node's policies declare the probe table and column (a later release's): a probe
    /// row for the response and the traffic patient's probe column, in one commit. Its id, or nil.
    private func writeProbe(survey: String, patient: String) async throws -> String? {
        let policies = crm.replica.policies
        guard policies.table(named: Self.probeTable) != nil, policies.table(named: "patient")?.columnIndex(Self.probeColumn) != nil else { return nil }
        return try await crm.replica.write { tx in
            try tx.update("patient", id: patient, set: [Self.probeColumn: survey])
            return try tx.insert(into: Self.probeTable, values: ["surveyId": survey, "note": "written by a newer release"])
        }
    }

    /// On a ward node, every other time, a patient currently admitted to its ward; else `patient`.
    private func patientToAnswer(otherwise patient: String) async throws -> String {
        guard crm.replica.ownScope != nil, Bool.random() else { return patient }
        let ward = nodeName
        let admitted = try await crm.replica.read { db in
            try String.fetchAll(
                db, sql: "SELECT patientId FROM encounter WHERE wardId = ? AND dischargedAt IS NULL AND cancelled IS NOT 1", arguments: [ward])
        }
        return admitted.randomElement() ?? patient
    }

    package init(crm: CRM, nodeName: String, perSecond: Double, seconds: Double, total: Int? = nil, logPath: String) {
        self.crm = crm
        self.nodeName = nodeName
        self.perSecond = perSecond
        self.seconds = seconds
        self.total = total
        self.logPath = logPath
    }
}
