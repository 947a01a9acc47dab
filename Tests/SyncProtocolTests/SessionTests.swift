import GRDB
import Replica
import Synchronization
import TestSupport
import Testing

@testable import SyncProtocol

@Suite("Sessions: anti-entropy over the encrypted channel")
struct SessionTests {
    let cluster = TestCluster()

    func nodes() throws -> (ward: (Replica, PeerAdmission), central: (Replica, PeerAdmission)) {
        let ward = try cluster.identity(2, "ward-5a"), central = try cluster.identity(1, "central", role: .central)
        return ((try makeSyncReplica(ward), cluster.admission(ward)), (try makeSyncReplica(central), cluster.admission(central)))
    }

    @Test func aOneShotSyncExchangesWhatEachSideLacksBothWays() async throws {
        let (ward, central) = try nodes()
        for index in 0..<300 {
            try await ward.0.write { try $0.insert(into: "surveyResponse", values: ["patientId": "P\(index)", "answers": "{}"]) }
        }
        try await central.0.write { try $0.insert(into: "patient", values: ["name": "n", "phone": "1"]) }
        let (report, _, _) = try await syncOverMemory(client: ward, server: central)
        #expect(report.rowsSent == 300)
        #expect(report.rowsReceived == 1)
        #expect(try ward.0.canonicalDump() == central.0.canonicalDump())
        // A second sync sends nothing: only what is missing travels.
        let (again, _, _) = try await syncOverMemory(client: ward, server: central)
        #expect(again.rowsSent == 0 && again.rowsReceived == 0)
    }

    /// Both sides catching up with every batch applied while the next is read: every batch is
    /// applied and acknowledged before goodbye ends the exchange (the peer's `caughtUp` is taken
    /// only once the batch in flight is applied). The race this guards against (goodbye sent by
    /// the sending loop while a batch is in flight) needs the last acknowledgement to arrive just
    /// before our own `caughtUp`; these rounds exercise the exchange, they do not force that race.
    @Test func aOneShotSyncReadingAheadEndsOnlyOnceEveryBatchIsApplied() async throws {
        var options = SyncOptions(mode: .oneShot, maxChangesPerBatch: 20)
        options.pipelinedChanges = 1
        for round in 0..<6 {
            let (ward, central) = try nodes()
            for index in 0..<120 {
                try await ward.0.write { try $0.insert(into: "surveyResponse", values: ["patientId": "P\(round)-\(index)", "answers": "{}"]) }
                try await central.0.write { try $0.insert(into: "patient", values: ["name": "n\(index)", "phone": "\(index)"]) }
            }
            let (report, _, _) = try await syncOverMemory(client: ward, server: central, options: options)
            #expect(report.rowsSent == 120)
            #expect(report.rowsReceived == 120)
            #expect(try ward.0.canonicalDump() == central.0.canonicalDump())
        }
    }

    @Test func relayedChangesKeepTheirOrigin() async throws {
        let (ward, central) = try nodes()
        let callCenterIdentity = try cluster.identity(3, "callcenter", role: .callcenter)
        let callCenter = (try makeSyncReplica(callCenterIdentity), cluster.admission(callCenterIdentity))
        try await ward.0.write { try $0.insert(into: "surveyResponse", values: ["patientId": "P1", "answers": "{}"]) }
        _ = try await syncOverMemory(client: ward, server: central)
        _ = try await syncOverMemory(client: callCenter, server: central)
        #expect(try callCenter.0.versionVector()[NodeID(2)] == 1)
        #expect(try callCenter.0.canonicalDump() == ward.0.canonicalDump())
    }

    @Test func aTamperedFrameEndsTheSessionAndAppliesNothing() async throws {
        let (ward, central) = try nodes()
        for index in 0..<20 {
            try await ward.0.write { try $0.insert(into: "surveyResponse", values: ["patientId": "P\(index)", "answers": "{}"]) }
        }
        // Frames: hello, auth, stream header, summary, signed heads, batch… flip a bit in the first batch.
        await #expect(throws: SyncError.self) {
            _ = try await syncOverMemory(
                client: ward, server: central,
                tamperClient: { index, frame in
                    guard index == 5 else { return [frame] }
                    var bad = frame
                    bad[bad.count / 2] ^= 0x01
                    return [bad]
                })
        }
        #expect(try central.0.statistics().rows["surveyResponse"] == 0)
    }

    @Test func aReplayedFrameEndsTheSessionOnTheReceivingSide() async throws {
        let (ward, central) = try nodes()
        try await ward.0.write { try $0.insert(into: "surveyResponse", values: ["patientId": "P", "answers": "{}"]) }
        let serverError = Mutex<SyncError?>(nil)
        _ = try? await syncOverMemory(
            client: ward, server: central,
            tamperClient: { index, frame in
                index == 5 ? [frame, frame] : [frame]
            },
            serverOutcome: { outcome in
                if case .failure(let error) = outcome { serverError.withLock { $0 = error as? SyncError } }
            })
        #expect(serverError.withLock { $0 }?.code == .tamperedFrame)
        #expect(try central.0.statistics().rows["surveyResponse"] == 1)  // applied once, never twice
    }

    @Test func aTruncatedFrameEndsTheSessionOnTheReceivingSide() async throws {
        let (ward, central) = try nodes()
        try await ward.0.write { try $0.insert(into: "surveyResponse", values: ["patientId": "P", "answers": "{}"]) }
        let serverError = Mutex<SyncError?>(nil)
        _ = try? await syncOverMemory(
            client: ward, server: central,
            tamperClient: { index, frame in
                index == 5 ? [Array(frame.prefix(frame.count / 2))] : [frame]
            },
            serverOutcome: { outcome in
                if case .failure(let error) = outcome { serverError.withLock { $0 = error as? SyncError } }
            })
        #expect(serverError.withLock { $0 }?.code == .tamperedFrame)
        #expect(try central.0.statistics().rows["surveyResponse"] == 0)
    }

    @Test func aFrameDroppedFromTheMiddleEndsTheSession() async throws {
        let (ward, central) = try nodes()
        for index in 0..<200 {
            try await ward.0.write { try $0.insert(into: "surveyResponse", values: ["patientId": "P\(index)", "answers": "{}"]) }
        }
        await #expect(throws: SyncError.self) {
            _ = try await syncOverMemory(
                client: ward, server: central,
                tamperClient: { index, frame in
                    index == 6 ? [] : [frame]
                })
        }
        // Batches before the gap were applied whole; the rest will come on the next sync.
        let applied = try central.0.statistics().rows["surveyResponse"] ?? -1
        #expect(applied % 50 == 0)
        _ = try await syncOverMemory(client: ward, server: central)
        #expect(try central.0.statistics().rows["surveyResponse"] == 200)
    }

    @Test func noPatientDataCrossesTheWireInClear() async throws {
        let (ward, central) = try nodes()
        let name = "王小明", phone = "13912345678"
        try await ward.0.write { try $0.insert(into: "patient", values: ["name": name, "phone": phone]) }
        let (_, clientBytes, serverBytes) = try await syncOverMemory(client: ward, server: central)
        #expect(try central.0.statistics().rows["patient"] == 1)
        for bytes in [clientBytes.bytes, serverBytes.bytes] {
            #expect(!contains(bytes, Array(name.utf8)))
            #expect(!contains(bytes, Array(phone.utf8)))
        }
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<$0 + needle.count]) == needle }
    }
}
