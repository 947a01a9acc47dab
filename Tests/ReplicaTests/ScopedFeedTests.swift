import Foundation
import GRDB
import TestSupport
import Testing

@testable import Replica

/// Partial replication: a ward node holds the rows its scope grants (declared with `hold` and
/// `scope-root`), kept exact by central's scoped feed as patients move between wards.
@Suite("Scoped feed: a ward node holds exactly its scope, and the scope follows the data")
struct ScopedFeedTests {
    static let policies: PolicySet = try! PolicySet(
        parsing: """
            table ward
              write central
              no-delete
              hold all
              column name text

            table setting
              write central
              no-delete
              hold all
              column value text

            table patient
              write central ward
              no-delete
              hold patient id
              column name text
              column phone text keep-both

            table stay
              write central ward
              no-delete
              hold patient patientId
              owned-by wardId
              scope-root patientId ward wardId ended endedAt cancelled cancelled window setting.scopeDays.value 30
              column patientId text not null
              column wardId text
              column endedAt text
              column cancelled integer max

            table answer append-only
              write central ward
              no-delete
              hold patient patientId
              owned-by wardId
              column patientId text not null
              column wardId text
              column score integer

            table account
              write central
              no-delete
              hold ward wardId
              column wardId text
              column hash text

            table logEntry append-only
              write central ward
              no-delete
              hold author
              column text text

            table secret
              write central
              no-delete
              column text text
            """, file: "scoped.policy")

    /// Node 1 is central; nodes 2… are ward nodes with the wards given.
    struct Hospital {
        let clock = TestClock(date: TestClock.hospitalMorning)
        let central: Replica
        let wards: [Replica]
        let wardsOf: [NodeID: Set<String>]

        init(wardNodes: [Set<String>]) throws {
            var wardsOf: [NodeID: Set<String>] = [:]
            for (index, wards) in wardNodes.enumerated() { wardsOf[NodeID(UInt64(index + 2))] = wards }
            self.wardsOf = wardsOf
            let clock = self.clock
            central = try Self.open(1, clock: clock, wardsOf: wardsOf)
            wards = try wardNodes.indices.map { try Self.open(UInt64($0 + 2), clock: clock, wardsOf: wardsOf) }
        }

        static func open(_ node: UInt64, clock: TestClock, wardsOf: [NodeID: Set<String>]) throws -> Replica {
            let roles = Dictionary(uniqueKeysWithValues: wardsOf.keys.map { ($0, NodeRole.ward) })
            var configuration = ReplicaConfiguration(nodeID: NodeID(node), policies: ScopedFeedTests.policies, wallClock: clock, rowIDSeed: node)
            configuration.authority = SharedSecretTrust(nodeID: NodeID(node), roles: roles, wards: wardsOf)
            return try Replica.inMemory(configuration: configuration)
        }

        func scope(of ward: Replica) -> FeedScope { ward.ownScope! }

        /// The ward's commits up to central.
        func up(_ ward: Replica) throws {
            var cursor: ChangeCursor?
            repeat {
                let page = try ward.changes(since: central.versionVector(), after: cursor, maxChanges: 7)
                cursor = page.next
                _ = try central.apply(page.batch)
            } while cursor != nil
        }

        /// Central's feed down to the ward, in pages of `pageRows`; stops after `pages` pages (a
        /// connection lost mid-stream) when given.
        func down(_ ward: Replica, pageRows: Int = 5, pageBytes: Int = 4 << 20, pages: Int? = nil) async throws {
            let since = try ward.feedCursor()
            var cursor: FeedCursor?
            var applied = 0
            repeat {
                if let pages, applied >= pages { return }
                let page = try central.feed(for: scope(of: ward), since: since, after: cursor, maxRows: pageRows, maxBytes: pageBytes)
                cursor = page.next
                _ = try await ward.applyFeed(page.feed)
                applied += 1
            } while cursor != nil
        }

        func sync(_ ward: Replica) async throws {
            try up(ward)
            try await down(ward)
        }

        /// Whether the ward holds exactly what central says its scope holds, values and merge state alike.
        func isExact(_ ward: Replica) throws -> Bool {
            try ward.scopedDump(for: nil) == central.scopedDump(for: scope(of: ward))
        }

        func admit(_ patient: String, to ward: String) throws -> String {
            try central.write { try $0.insert(into: "stay", values: ["patientId": patient, "wardId": ward]) }
        }
    }

    func rows(_ replica: Replica, _ table: String) throws -> [String] {
        try replica.reader.read { db in try String.fetchAll(db, sql: "SELECT id FROM \(table) ORDER BY id") }
    }

    @Test func aWardNodeHoldsItsWardsPatientsAndAccountsAndNothingElse() async throws {
        let hospital = try Hospital(wardNodes: [["W-1"], ["W-2"]])
        let central = hospital.central
        try await central.write { tx in
            _ = try tx.insert(into: "ward", values: ["name": "一病区"], id: "W-1")
            _ = try tx.insert(into: "patient", values: ["name": "张三", "phone": "13800000001"], id: "P1")
            _ = try tx.insert(into: "patient", values: ["name": "李四", "phone": "13800000002"], id: "P2")
            _ = try tx.insert(into: "account", values: ["wardId": "W-1", "hash": "hash-of-nurse-1"], id: "U1")
            _ = try tx.insert(into: "account", values: ["wardId": "W-2", "hash": "hash-of-nurse-2"], id: "U2")
            _ = try tx.insert(into: "account", values: ["wardId": nil, "hash": "hash-of-admin"], id: "U3")
            _ = try tx.insert(into: "secret", values: ["text": "central only"], id: "S1")
            _ = try tx.insert(into: "answer", values: ["patientId": "P2", "wardId": "W-2", "score": 3])
        }
        _ = try hospital.admit("P1", to: "W-1")
        _ = try hospital.admit("P2", to: "W-2")
        let (one, two) = (hospital.wards[0], hospital.wards[1])
        try await hospital.sync(one)
        try await hospital.sync(two)
        #expect(try rows(one, "patient") == ["P1"])
        #expect(try rows(one, "account") == ["U1"], "no other ward's password hash")
        #expect(try rows(one, "secret").isEmpty && rows(one, "answer").isEmpty)
        #expect(try rows(one, "ward") == ["W-1"])
        #expect(try rows(two, "patient") == ["P2"] && rows(two, "answer").count == 1)
        #expect(try hospital.isExact(one) && hospital.isExact(two))
    }

    @Test func aTransferBringsThePatientsWholeHistoryAndTheOldWardPurgesIt() async throws {
        let hospital = try Hospital(wardNodes: [["W-1"], ["W-2"]])
        let (one, two) = (hospital.wards[0], hospital.wards[1])
        try await hospital.central.write { _ = try $0.insert(into: "patient", values: ["name": "王五"], id: "P1") }
        let stay = try hospital.admit("P1", to: "W-1")
        try await hospital.sync(one)
        // The ward captures answers; they reach central.
        for score in 1...3 {
            _ = try await one.write { try $0.insert(into: "answer", values: ["patientId": "P1", "wardId": "W-1", "score": score]) }
        }
        try await hospital.sync(one)
        try await hospital.sync(two)
        #expect(try rows(two, "answer").isEmpty)
        // Transfer to W-2: W-2 gets everything of P1, however old; W-1 purges it.
        try await hospital.central.write { try $0.update("stay", id: stay, set: ["wardId": "W-2"]) }
        try await hospital.sync(two)
        try await hospital.sync(one)
        #expect(try rows(two, "answer").count == 3 && rows(two, "patient") == ["P1"])
        #expect(try rows(one, "answer").isEmpty && rows(one, "patient").isEmpty && rows(one, "stay").isEmpty)
        #expect(try hospital.central.statistics().rows["answer"] == 3, "a purge deletes nothing anywhere else")
        // And back: complete again on W-1.
        try await hospital.central.write { try $0.update("stay", id: stay, set: ["wardId": "W-1"]) }
        try await hospital.sync(one)
        try await hospital.sync(two)
        #expect(try rows(one, "answer").count == 3)
        #expect(try hospital.isExact(one) && hospital.isExact(two))
    }

    @Test func aDischargeLeavesTheScopeOnlyWhenTheWindowHasPassed() async throws {
        let hospital = try Hospital(wardNodes: [["W-1"]])
        let one = hospital.wards[0]
        try await hospital.central.write { _ = try $0.insert(into: "patient", values: ["name": "赵六"], id: "P1") }
        let stay = try hospital.admit("P1", to: "W-1")
        try await hospital.central.write { try $0.update("stay", id: stay, set: ["endedAt": "2026-11-20T10:00:00+08:00"]) }
        try await hospital.sync(one)
        #expect(try rows(one, "patient") == ["P1"], "discharged 3 days ago: still the ward's")
        hospital.clock.advance(hours: 24 * 31)
        #expect(try await one.purgeOutOfScope() > 0)
        #expect(try rows(one, "patient").isEmpty && rows(one, "stay").isEmpty)
        try await hospital.sync(one)
        #expect(try rows(one, "patient").isEmpty, "central does not send it back")
        #expect(try hospital.isExact(one))
    }

    @Test func rowsOutsideTheScopeAreRefusedAndNeverStored() async throws {
        let hospital = try Hospital(wardNodes: [["W-1"], ["W-2"]])
        try await hospital.central.write { tx in
            _ = try tx.insert(into: "patient", values: ["name": "外病区"], id: "P2")
            _ = try tx.insert(into: "secret", values: ["text": "central only"], id: "S1")
            _ = try tx.insert(into: "account", values: ["wardId": "W-2", "hash": "hash-2"], id: "U2")
        }
        _ = try hospital.admit("P2", to: "W-2")
        // A feed computed for the other ward, handed to ward one (a confused or hostile sender).
        let wrong = try hospital.central.feed(for: hospital.scope(of: hospital.wards[1]), since: VersionVector()).feed
        var hostile = wrong
        hostile.entries += try await hospital.central.reader.read { db in
            let meta = try Data.fetchOne(db, sql: "SELECT _sf_meta FROM secret WHERE id = 'S1'")!
            return [RowFeed.Entry(table: "secret", key: "S1", body: .state(values: ["central only".databaseValue], meta: Array(meta)))]
        }
        hostile.snapshot = nil
        let report = try await hospital.wards[0].applyFeed(RowFeed(decoding: hostile.encoded(), policies: Self.policies))
        #expect(report.refused["patient"] == 1 && report.refused["stay"] == 1 && report.refused["account"] == 1 && report.refused["secret"] == 1)
        for table in ["patient", "stay", "account", "secret"] { #expect(try rows(hospital.wards[0], table).isEmpty) }
    }

    @Test func anEvictionWaitsForTheWardsOwnWritesAndThePatientComesBackWhole() async throws {
        let hospital = try Hospital(wardNodes: [["W-1"]])
        let one = hospital.wards[0]
        try await hospital.central.write { _ = try $0.insert(into: "patient", values: ["name": "钱七"], id: "P1") }
        let stay = try hospital.admit("P1", to: "W-1")
        try await hospital.sync(one)
        // The ward answers while central transfers the patient away; the ward hears of the
        // transfer before its answer reaches central: the eviction waits for central to have it.
        let answer = try await one.write { try $0.insert(into: "answer", values: ["patientId": "P1", "wardId": "W-1", "score": 5]) }
        try await hospital.central.write { try $0.update("stay", id: stay, set: ["wardId": "W-9"]) }
        try await hospital.down(one)
        #expect(try rows(one, "answer") == [answer], "not purged while central lacks the ward's write")
        try hospital.up(one)
        try await hospital.down(one)
        #expect(try rows(one, "answer").isEmpty && rows(one, "patient").isEmpty, "purged once central echoed it")
        #expect(try hospital.central.statistics().rows["answer"] == 1)
        // Back in W-1: the patient returns whole, the ward's own answer included.
        try await hospital.central.write { try $0.update("stay", id: stay, set: ["wardId": "W-1"]) }
        try await hospital.down(one)
        #expect(try rows(one, "answer") == [answer])
        #expect(try hospital.isExact(one))
    }

    @Test func aPatientTheWardJustRegisteredSurvivesAPurgeBeforeItsAdmissionReachesCentral() async throws {
        let hospital = try Hospital(wardNodes: [["W-1"]])
        let one = hospital.wards[0]
        // Registering a patient and admitting them are two commits; a sweep and a first snapshot
        // (which lists no such patient) come in between.
        try await one.write { _ = try $0.insert(into: "patient", values: ["name": "新病人"], id: "P-NEW") }
        try await one.purgeOutOfScope()
        try await hospital.down(one)
        #expect(try rows(one, "patient") == ["P-NEW"])
        try await one.write { _ = try $0.insert(into: "stay", values: ["patientId": "P-NEW", "wardId": "W-1"]) }
        try await hospital.sync(one)
        try await hospital.sync(one)
        #expect(try rows(one, "patient") == ["P-NEW"] && hospital.isExact(one))
    }

    @Test func aWardAdmittingAnotherWardsPatientToItselfGetsNothingOfThem() async throws {
        let hospital = try Hospital(wardNodes: [["W-1"], ["W-2"]])
        let (one, two) = (hospital.wards[0], hospital.wards[1])
        try await hospital.central.write { tx in
            _ = try tx.insert(into: "patient", values: ["name": "他病区", "phone": "13900000009"], id: "P-OTHER")
            _ = try tx.insert(into: "answer", values: ["patientId": "P-OTHER", "wardId": "W-2", "score": 1])
        }
        _ = try hospital.admit("P-OTHER", to: "W-2")
        try await hospital.sync(two)
        // A stolen W-1 gateway records an admission of that patient to its own ward.
        try await one.write { _ = try $0.insert(into: "stay", values: ["patientId": "P-OTHER", "wardId": "W-1"]) }
        try await hospital.sync(one)
        try await hospital.sync(one)
        #expect(try rows(one, "patient").isEmpty && rows(one, "answer").isEmpty, "no archive is pulled by admitting it")
        #expect(try hospital.central.statistics().rows["stay"] == 2, "the admission itself is still recorded at central")
        // A patient the ward registered itself and admits is its own.
        try await one.write { tx in
            _ = try tx.insert(into: "patient", values: ["name": "床边登记"], id: "P-BEDSIDE")
            _ = try tx.insert(into: "stay", values: ["patientId": "P-BEDSIDE", "wardId": "W-1"])
        }
        try await hospital.sync(one)
        try await hospital.sync(one)
        #expect(try rows(one, "patient") == ["P-BEDSIDE"])
        try await hospital.sync(two)
        let held = Set(try one.scopedDump(for: nil).lines), due = Set(try hospital.central.scopedDump(for: hospital.scope(of: one)).lines)
        #expect(held == due, "extra \(held.subtracting(due).sorted()), missing \(due.subtracting(held).sorted())")
        #expect(try hospital.isExact(two))
    }

    @Test func pagesCutByBytesLeaveNoRowBehind() async throws {
        let hospital = try Hospital(wardNodes: [["W-1"]])
        let one = hospital.wards[0]
        for index in 0..<4 {
            try await hospital.central.write { _ = try $0.insert(into: "patient", values: ["name": "患者\(index)"], id: "P\(index)") }
            _ = try hospital.admit("P\(index)", to: "W-1")
        }
        try await hospital.sync(one)
        // Edits in separate commits, then pages so small in bytes that each holds a row or two.
        for index in 0..<4 {
            try await hospital.central.write { try $0.update("patient", id: "P\(index)", set: ["name": String(repeating: "长", count: 40) + "\(index)"]) }
            try await hospital.central.write { tx in _ = try tx.insert(into: "answer", values: ["patientId": "P\(index)", "wardId": "W-1", "score": index]) }
        }
        try await hospital.down(one, pageRows: 100, pageBytes: 50)
        #expect(try hospital.isExact(one))
        #expect(try rows(one, "answer").count == 4)
    }

    @Test func aSnapshotPagedWithinOnePatientsRowsBringsEveryRowOnce() async throws {
        let hospital = try Hospital(wardNodes: [["W-1"]])
        try await hospital.central.write { tx in
            for patient in ["P-A", "P-B", "P-C"] {
                _ = try tx.insert(into: "patient", values: ["name": "患者"], id: patient)
                for score in 0..<7 { _ = try tx.insert(into: "answer", values: ["patientId": patient, "wardId": "W-1", "score": score]) }
            }
        }
        for patient in ["P-A", "P-B", "P-C"] { _ = try hospital.admit(patient, to: "W-1") }
        // Pages of 2 and 3 rows: every page but a few ends inside a patient's answers.
        for pageRows in [2, 3] {
            let ward = try Hospital.open(2, clock: hospital.clock, wardsOf: hospital.wardsOf)
            let since = try ward.feedCursor()
            var cursor: FeedCursor?
            var received: [String] = []
            repeat {
                let page = try hospital.central.feed(for: hospital.scope(of: ward), since: since, after: cursor, maxRows: pageRows)
                received += page.feed.entries.filter { $0.table == "answer" }.map(\.key)
                cursor = page.next
                _ = try await ward.applyFeed(page.feed)
            } while cursor != nil
            #expect(received.count == 21 && Set(received).count == 21, "each answer sent once, none left out (pages of \(pageRows))")
            #expect(try ward.scopedDump(for: nil) == hospital.central.scopedDump(for: hospital.scope(of: ward)))
        }
    }

    @Test func aPatientWhoLeavesDuringASnapshotGetsNothingMoreFromIt() async throws {
        let hospital = try Hospital(wardNodes: [["W-1"]])
        let one = hospital.wards[0]
        try await hospital.central.write { tx in
            for patient in ["P-A", "P-B"] {
                _ = try tx.insert(into: "patient", values: ["name": "患者"], id: patient)
                for score in 0..<4 { _ = try tx.insert(into: "answer", values: ["patientId": patient, "wardId": "W-1", "score": score]) }
            }
        }
        let stay = try hospital.admit("P-A", to: "W-1")
        _ = try hospital.admit("P-B", to: "W-1")
        let since = try one.feedCursor()
        let first = try hospital.central.feed(for: hospital.scope(of: one), since: since, maxRows: 2)
        _ = try await one.applyFeed(first.feed)
        // P-A moves to W-2 and answers there while the snapshot is still paging.
        try await hospital.central.write { try $0.update("stay", id: stay, set: ["wardId": "W-2"]) }
        let late = try await hospital.central.write { tx in try tx.insert(into: "answer", values: ["patientId": "P-A", "wardId": "W-2", "score": 9]) }
        var cursor = first.next
        var received: [String] = []
        while let next = cursor {
            let page = try hospital.central.feed(for: hospital.scope(of: one), since: since, after: next, maxRows: 2)
            received += page.feed.entries.map(\.key)
            _ = try await one.applyFeed(page.feed)
            cursor = page.next
        }
        #expect(!received.contains(late), "nothing written after the patient left reaches the old ward")
        #expect(!received.contains("P-A") && received.contains("P-B"))
        try await hospital.down(one)
        #expect(try hospital.isExact(one))
        #expect(try rows(one, "patient") == ["P-B"])
    }

    @Test func aPatientIdEquivalentToAnothersGrantsNothingOfTheOther() async throws {
        let hospital = try Hospital(wardNodes: [["W-1"]])
        let one = hospital.wards[0]
        let real = "P-K01", lookalike = "P-\u{212A}01"  // a Kelvin sign: Swift's == calls them equal
        #expect(real == lookalike && Array(real.utf8) != Array(lookalike.utf8))
        try await hospital.central.write { _ = try $0.insert(into: "patient", values: ["name": "王五"], id: real) }
        _ = try hospital.admit(real, to: "W-2")
        try await hospital.sync(one)
        // A stolen gateway registers the look-alike at the bedside and admits it to its own ward.
        try await one.write { tx in
            _ = try tx.insert(into: "patient", values: ["name": "x"], id: lookalike)
            _ = try tx.insert(into: "stay", values: ["patientId": lookalike, "wardId": "W-1"])
        }
        try hospital.up(one)
        let answer = try await hospital.central.write { tx in
            try tx.insert(into: "answer", values: ["patientId": real, "wardId": "W-2", "score": 7])
        }
        try await hospital.central.write { try $0.update("patient", id: real, set: ["name": "王五一"]) }
        let page = try hospital.central.feed(for: hospital.scope(of: one), since: one.feedCursor(), maxRows: 100).feed
        let sent = page.entries.map { Array($0.key.utf8) }
        #expect(!sent.contains(Array(answer.utf8)) && !sent.contains(Array(real.utf8)), "nothing of the real patient is sent")
        #expect(sent.contains(Array(lookalike.utf8)), "the ward's own patient is")
    }

    /// Ward ids are compared byte for byte too: a ward node working for "W-K1" holds nothing of
    /// ward "W-\u{212A}1" (a Kelvin sign), which Swift's `==` calls the same ward, and its own
    /// scope's patients are not widened by an admission to the look-alike ward.
    @Test func aWardIdEquivalentToAnothersGrantsNothingOfTheOther() async throws {
        let hospital = try Hospital(wardNodes: [["W-K1"]])
        let one = hospital.wards[0]
        let lookalike = "W-\u{212A}1"
        try await hospital.central.write { tx in
            _ = try tx.insert(into: "account", values: ["wardId": "W-K1", "hash": "h-own"], id: "ACC-OWN")
            _ = try tx.insert(into: "patient", values: ["name": "王五"], id: "P-OTHER")
        }
        try await hospital.down(one)
        #expect(try one.feedCursor() != VersionVector(), "past the snapshot: what follows travels in central's commit walk")
        try await hospital.central.write { tx in
            _ = try tx.insert(into: "account", values: ["wardId": lookalike, "hash": "h-other"], id: "ACC-OTHER")
            try tx.update("account", id: "ACC-OWN", set: ["hash": "h-own-2"])
        }
        _ = try hospital.admit("P-OTHER", to: lookalike)
        let page = try hospital.central.feed(for: hospital.scope(of: one), since: one.feedCursor(), maxRows: 100).feed
        let sent = Set(
            page.entries.compactMap { entry -> String? in
                if case .state = entry.body { return entry.key }
                return nil
            })
        #expect(sent.contains("ACC-OWN"), "the ward's own account is sent")
        #expect(!sent.contains("ACC-OTHER") && !sent.contains("P-OTHER"), "nothing of the look-alike ward is")
    }

    /// Two patients whose ids are canonically equivalent ("P-K01", "P-\u{212A}01" with a Kelvin
    /// sign) are two patients: a ward that holds both gets both, with their rows, in its snapshot
    /// and after it, and the snapshot's purge keeps both.
    @Test func patientsWithEquivalentIdsAreBothHeld() async throws {
        let hospital = try Hospital(wardNodes: [["W-1"]])
        let one = hospital.wards[0]
        let plain = "P-K01", lookalike = "P-\u{212A}01"
        try await hospital.central.write { tx in
            _ = try tx.insert(into: "patient", values: ["name": "张三"], id: plain)
            _ = try tx.insert(into: "patient", values: ["name": "李四"], id: lookalike)
        }
        _ = try hospital.admit(plain, to: "W-1")
        _ = try hospital.admit(lookalike, to: "W-1")
        try await hospital.central.write { tx in
            _ = try tx.insert(into: "answer", values: ["patientId": plain, "wardId": "W-1", "score": 5], id: "A-PLAIN")
            _ = try tx.insert(into: "answer", values: ["patientId": lookalike, "wardId": "W-1", "score": 4], id: "A-LOOKALIKE")
        }
        try await hospital.down(one, pageRows: 2)
        let held = try await one.read { db in try String.fetchAll(db, sql: "SELECT id FROM answer ORDER BY id") }
        #expect(held == ["A-LOOKALIKE", "A-PLAIN"])
        #expect(try one.scopedDump(for: nil) == hospital.central.scopedDump(for: hospital.scope(of: one)))
    }

    @Test func aPageRepeatingARowIsJoinedNotRefused() async throws {
        let hospital = try Hospital(wardNodes: [["W-1"]])
        let one = hospital.wards[0]
        try await hospital.central.write { tx in
            _ = try tx.insert(into: "patient", values: ["name": "张三", "phone": "13800000001"], id: "P1")
            _ = try tx.insert(into: "patient", values: ["name": "李四", "phone": "13800000002"], id: "P2")
        }
        _ = try hospital.admit("P1", to: "W-1")
        _ = try hospital.admit("P2", to: "W-1")
        try await hospital.central.write { tx in
            _ = try tx.insert(into: "answer", values: ["patientId": "P1", "wardId": "W-1", "score": 5], id: "A1")
        }
        try await hospital.down(one, pageRows: 100)
        try await hospital.central.write { try $0.update("patient", id: "P1", set: ["name": "张三丰"]) }
        try await hospital.central.write { tx in
            _ = try tx.insert(into: "answer", values: ["patientId": "P1", "wardId": "W-1", "score": 4], id: "A2")
        }
        // One page: a row the ward holds (changed) and a new one, each twice in a row.
        var page = try hospital.central.feed(for: hospital.scope(of: one), since: one.feedCursor(), maxRows: 100).feed
        #expect(Set(page.entries.map(\.key)).isSuperset(of: ["P1", "A2"]))
        page.entries = page.entries.flatMap { [$0, $0] }
        let report = try await one.applyFeed(page)
        #expect(report.rowsChanged == 2)
        #expect(try hospital.isExact(one))
        #expect(try rows(one, "answer") == ["A1", "A2"])
    }

    @Test func aFreshWardNodeGetsThePatientsOpenConflicts() async throws {
        let hospital = try Hospital(wardNodes: [["W-1"], ["W-1"], ["W-1"]])
        try await hospital.central.write { _ = try $0.insert(into: "patient", values: ["name": "张三", "phone": "13800000001"], id: "P1") }
        _ = try hospital.admit("P1", to: "W-1")
        let (one, two, fresh) = (hospital.wards[0], hospital.wards[1], hospital.wards[2])
        try await hospital.sync(one)
        try await hospital.sync(two)
        try await one.write { try $0.update("patient", id: "P1", set: ["phone": "13900000001"]) }
        try await two.write { try $0.update("patient", id: "P1", set: ["phone": "13700000001"]) }
        try hospital.up(one)
        try hospital.up(two)
        #expect(try hospital.central.openConflicts().map(\.key) == ["P1"])
        try await hospital.sync(fresh)
        #expect(try fresh.openConflicts() == hospital.central.openConflicts())
    }

    @Test func aMalformedFeedPageIsRefusedWithoutTrapping() throws {
        var feed = RowFeed()
        feed.entries = [RowFeed.Entry(table: "patient", key: "P1", body: .state(values: ["x".databaseValue, .null], meta: [1, 2, 3]))]
        let bytes = feed.encoded()
        for cut in 0..<bytes.count {
            #expect(throws: MalformedDataError.self) { try RowFeed(decoding: Array(bytes.prefix(cut)), policies: Self.policies) }
        }
        var unknown = feed
        unknown.entries[0].table = "nosuchtable"
        #expect(throws: MalformedDataError.self) { try RowFeed(decoding: unknown.encoded(), policies: Self.policies) }
        #expect(throws: MalformedDataError.self) { try RowFeed(decoding: bytes + [0], policies: Self.policies) }
    }

    /// Many wards, patients admitted, transferred, discharged and cancelled on central while ward
    /// nodes capture answers and edit phones offline, links cut and streams broken off mid-way;
    /// once everything heals, every ward node holds exactly its scope's rows with central's values
    /// and merge state, and every answer a ward captured is at central.
    @Test(arguments: (UInt64(1)...20).map { $0 })
    func everyWardEndsWithExactlyItsScopeAndNoWriteIsLost(seed: UInt64) async throws {
        var random = SplitMix64(seed: seed)
        let wardNames = ["W-1", "W-2", "W-3", "W-4"]
        let hospital = try Hospital(wardNodes: [["W-1"], ["W-2"], ["W-3", "W-4"], ["W-1"]])
        let patients = (0..<8).map { "P\($0)" }
        try await hospital.central.write { tx in
            for patient in patients { _ = try tx.insert(into: "patient", values: ["name": "患者\(patient)", "phone": "1380000000\(patient.dropFirst())"], id: patient) }
            for ward in wardNames { _ = try tx.insert(into: "account", values: ["wardId": ward, "hash": "hash-\(ward)"], id: "U-\(ward)") }
        }
        var stays: [String: String] = [:]  // patient → its current stay on central
        var captured: Set<String> = []
        var partitioned: Set<Int> = []
        for _ in 0..<160 {
            let wardIndex = Int(random.next() % UInt64(hospital.wards.count))
            let ward = hospital.wards[wardIndex]
            let patient = patients[Int(random.next() % UInt64(patients.count))]
            switch random.next() % 12 {
            case 0, 1:
                stays[patient] = try hospital.admit(patient, to: wardNames[Int(random.next() % 4)])
            case 2:
                let target = wardNames[Int(random.next() % 4)]
                if let stay = stays[patient] { try await hospital.central.write { try $0.update("stay", id: stay, set: ["wardId": target]) } }
            case 3:
                let ended = random.next() % 2 == 0 ? "2026-11-20T10:00:00+08:00" : "2026-09-01T10:00:00+08:00"
                if let stay = stays[patient] { try await hospital.central.write { try $0.update("stay", id: stay, set: ["endedAt": ended]) } }
            case 4:
                if let stay = stays[patient], random.next() % 3 == 0 { try await hospital.central.write { try $0.update("stay", id: stay, set: ["cancelled": 1]) } }
            case 5, 6:
                // A ward captures an answer for a patient it holds in one of its wards.
                let held = try ward.reader.read { db in
                    try Row.fetchOne(db, sql: "SELECT patientId, wardId FROM stay WHERE patientId = ? AND cancelled IS NOT 1 LIMIT 1", arguments: [patient])
                }
                if let held, let wardId = held["wardId"] as String?, hospital.wardsOf[ward.nodeID]!.contains(wardId) {
                    let score = Int(random.next() % 10)
                    captured.insert(try await ward.write { try $0.insert(into: "answer", values: ["patientId": patient, "wardId": wardId, "score": score]) })
                }
            case 7:
                if try !rows(ward, "patient").filter({ $0 == patient }).isEmpty {
                    let phone = "139\(random.next() % 100_000_000)"
                    try await ward.write { try $0.update("patient", id: patient, set: ["phone": phone]) }
                }
            case 8:
                if partitioned.contains(wardIndex) { partitioned.remove(wardIndex) } else { partitioned.insert(wardIndex) }
            case 9:
                _ = try await ward.write { try $0.insert(into: "logEntry", values: ["text": "ward work"]) }
            case 10 where random.next() % 4 == 0:
                // Days pass: discharges leave the window; a ward's own sweep purges them.
                hospital.clock.advance(hours: 24 * 7)
                try await ward.purgeOutOfScope()
            default:
                guard !partitioned.contains(wardIndex) else { continue }
                if random.next() % 2 == 0 { try hospital.up(ward) }
                // Sometimes the stream breaks off after a page or two.
                let pages = random.next() % 3 == 0 ? Int(random.next() % 3) : nil
                // Pages cut by rows or, as small as a row or two, by bytes.
                let bytes = random.next() % 2 == 0 ? 4 << 20 : 60 + Int(random.next() % 400)
                try await hospital.down(ward, pageRows: 1 + Int(random.next() % 6), pageBytes: bytes, pages: pages)
            }
        }
        for _ in 0..<2 {
            for ward in hospital.wards {
                try await hospital.sync(ward)
                try await ward.purgeOutOfScope()
            }
        }
        for ward in hospital.wards {
            let held = Set(try ward.scopedDump(for: nil).lines), due = Set(try hospital.central.scopedDump(for: hospital.scope(of: ward)).lines)
            #expect(
                held == due, "ward node \(ward.nodeID) holds exactly its scope (seed \(seed)): extra \(held.subtracting(due).sorted()), missing \(due.subtracting(held).sorted())")
        }
        #expect(try Set(rows(hospital.central, "answer")).isSuperset(of: captured), "no captured answer is lost")
    }
}
