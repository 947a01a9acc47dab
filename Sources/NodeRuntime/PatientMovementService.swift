import CRMDomain
import Foundation
import GRDB
import Replica
import ServiceLifecycle

/// Synthetic patient movement for testnets, on central: a handful of made-up patients are admitted
/// to the hospital's wards and transferred from ward to ward at a steady rate, so ward nodes see
/// patients enter their scope (with rows other wards wrote) and leave it while links fail.
package struct PatientMovementService: Service {
    package let crm: CRM
    package let perSecond: Double
    package let seconds: Double
    /// How many patients move about.
    package var patients = 6

    package init(crm: CRM, perSecond: Double, seconds: Double) {
        self.crm = crm
        self.perSecond = perSecond
        self.seconds = seconds
    }

    package func run() async throws {
        try await runUntilShutdown { try await move() }
    }

    private func move() async throws {
        let wards = try await crm.replica.read { db in try String.fetchAll(db, sql: "SELECT id FROM ward ORDER BY id") }
        guard wards.count >= 2 else { return }
        var stays: [String] = []
        for index in 0..<patients {
            let patient = try await crm.patients.create(.system, PatientInput(name: "TESTNET-MOVING-\(index)"))
            stays.append(
                try await crm.encounters.record(
                    .system, EncounterInput(patientId: patient, kind: "inpatient", wardId: wards[index % wards.count], admittedAt: crm.currentTimestamp())))
        }
        var random = SystemRandomNumberGenerator()
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline, !Task.isCancelled {
            let stay = stays[Int(random.next() % UInt64(stays.count))]
            let current = try await crm.encounters.encounter(stay).wardId
            let target = wards.filter { $0 != current }[Int(random.next() % UInt64(wards.count - 1))]
            try await crm.encounters.transfer(.system, encounterId: stay, toWardId: target, toDepartmentId: nil, at: nil)
            try? await Task.sleep(for: .seconds(1 / max(perSecond, 0.001)))
        }
    }
}
