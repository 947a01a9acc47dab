import CRMDomain
import Foundation
import GRDB
import Replica
import Sodium
import SyncProtocol
import TestSupport
import Testing

@testable import NodeRuntime

extension NodeNetworkTests {
    /// Every file in an encrypted central's and ward node's directories, after a sync with known
    /// patient text and while both still run (WAL and wal-index present), holds none of it: no name,
    /// phone, ID number or survey answer, and no node key in the clear.
    @Test func anEncryptedNodesFilesHoldNoPatientTextAfterASync() async throws {
        let pair = try await startPair(encrypted: true)
        defer { pair.stop() }
        let crm = pair.central.crm
        try await crm.organisation.saveReference(.system, .department, ReferenceItem(id: "D-CARD", name: "心内科"))
        try await crm.organisation.saveReference(.system, .ward, ReferenceItem(id: "W-CARD", name: "W-CARD", departmentId: "D-CARD"))
        let name = "加密病区钱七", idNumber = "350102198803033333", phone = "13755556666", answer = "护士很耐心但夜里太吵了"
        let patient = try await crm.patients.create(.system, PatientInput(name: name, idNumber: idNumber, phone: phone))
        _ = try await crm.encounters.record(
            .system, EncounterInput(patientId: patient, kind: "inpatient", departmentId: "D-CARD", wardId: "W-CARD", admittedAt: "2026-11-23T08:00:00+08:00"))
        _ = try await crm.surveys.saveTemplate(.system, id: "bedside", name: "床边探访", purpose: "bedside", diseaseCode: nil, definition: bedsideTemplate)
        _ = try await pair.central.replica.write { tx in
            try tx.insert(
                into: "surveyResponse",
                values: [
                    "templateId": "bedside", "templateVersion": 1, "patientId": patient, "wardId": "W-CARD", "mode": "bedside",
                    "submittedAt": "2026-11-23T09:00:00+08:00", "answers": #"{"comment":"\#(answer)"}"#,
                ])
        }
        #expect(
            try await eventually {
                try pair.ward.replica.statistics().rows["surveyResponse"] == 1 && pair.ward.replica.statistics().rows["patient"] == 1
            })
        let held = try await pair.ward.replica.reader.read { db in try String.fetchOne(db, sql: "SELECT name FROM patient") }
        #expect(held == name, "the ward reads its patient through the key")
        let nodeKeys = try ["central", "ward"].map { try NodeDirectory(pair.directory.appendingPathComponent($0).path).identity().key.secretKeyBytes }
        for node in ["central", "ward"] {
            let directory = pair.directory.appendingPathComponent(node)
            let files = try #require(FileManager.default.subpaths(atPath: directory.path))
            #expect(files.contains("replica.sqlite-wal"), "checked while the node runs, WAL and all")
            var everything = Data()
            for file in files {
                everything += (try? Data(contentsOf: directory.appendingPathComponent(file))) ?? Data()
            }
            for text in [name, idNumber, phone, answer] {
                #expect(everything.range(of: Data(text.utf8)) == nil, "'\(text)' readable on \(node)'s disk")
            }
            for key in nodeKeys {
                #expect(everything.range(of: Data(key.prefix(32))) == nil, "a node's secret key in the clear on \(node)'s disk")
            }
        }
    }

    /// Central's replica opens only with its unlock secret; another key file gets a clear refusal.
    @Test func anEncryptedNodeOpensOnlyWithItsUnlockSecret() async throws {
        let pair = try await startPair(encrypted: true)
        defer { pair.stop() }
        let wrongKey = pair.directory.appendingPathComponent("wrong.key").path
        try UnlockSource.createKeyFile(at: wrongKey)
        let directory = NodeDirectory(pair.directory.appendingPathComponent("central").path, unlock: .keyFile(wrongKey))
        #expect {
            _ = try directory.identity()
        } throws: { error in
            "\(error)".contains("does not open this node's data key")
        }
        let missing = NodeDirectory(pair.directory.appendingPathComponent("central").path, unlock: .keyFile("/nonexistent/usb/central.key"))
        #expect {
            _ = try missing.vault()
        } throws: { error in
            "\(error)".contains("insert the key medium")
        }
    }
}
