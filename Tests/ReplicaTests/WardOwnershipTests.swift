import GRDB
import TestSupport
import Testing

@testable import Replica

/// `owned-by`: a ward node writes ward-owned rows only for the wards its certificate names.
@Suite("Ward ownership: a ward node writes admissions, tasks, surveys and opinions only for its wards")
struct WardOwnershipTests {
    static let policies: PolicySet = try! PolicySet(
        parsing: """
            table stay
              key id
              write central ward
              no-delete
              owned-by wardId
              column wardId text
              column note text

            table answer append-only
              key id
              write central ward
              no-delete
              owned-by wardId
              column wardId text
              column score integer

            table visit
              key id
              write central ward
              owned-by wardId
              column wardId text
              column note text

            table logEntry append-only
              key id
              write central ward
              no-delete
              column text text
            """, file: "ownership.policy")

    /// Node 1 is central; node 2 a ward node working for W-1 and W-2.
    static func trust(_ node: UInt64) -> SharedSecretTrust {
        SharedSecretTrust(nodeID: NodeID(node), roles: [NodeID(2): .ward], wards: [NodeID(2): ["W-1", "W-2"]])
    }

    func replica(_ node: UInt64, clock: TestClock? = nil, wards: Set<String>? = nil) throws -> Replica {
        var configuration = ReplicaConfiguration(nodeID: NodeID(node), policies: Self.policies, rowIDSeed: node)
        if let clock { configuration.wallClock = clock }
        configuration.authority = wards.map { SharedSecretTrust(nodeID: NodeID(node), roles: [NodeID(node): .ward], wards: [NodeID(node): $0]) } ?? Self.trust(node)
        return try Replica.inMemory(configuration: configuration)
    }

    func isRefused(_ error: any Error) -> Bool { (error as? ReplicaError)?.code == .notAuthorized }

    @Test func aWardNodeCreatesRowsOnlyForItsWards() throws {
        let ward = try replica(2)
        try ward.write { try $0.insert(into: "stay", values: ["wardId": "W-1", "note": "admitted"], id: "S1~W-1") }
        try ward.write { try $0.insert(into: "answer", values: ["wardId": "W-2", "score": 9], id: BoundRowID.bind("A1", toNode: NodeID(2))) }
        #expect { try ward.write { try $0.insert(into: "stay", values: ["wardId": "W-9"], id: "S2") } } throws: { isRefused($0) }
        #expect { try ward.write { try $0.insert(into: "answer", values: ["score": 1], id: "A2") } } throws: { isRefused($0) }
        #expect(try ward.statistics().rows["stay"] == 1)
    }

    /// A ward id canonically equivalent to one of the node's own (a Kelvin sign for a K) is
    /// another ward: SQLite stores and compares the bytes, so the row would belong to that ward.
    @Test func aWardIdEquivalentToItsOwnIsAnotherWard() throws {
        let own = "W-K1", lookalike = "W-\u{212A}1"
        #expect(own == lookalike && Array(own.utf8) != Array(lookalike.utf8))
        let identity = OriginIdentity(nodeID: NodeID(3), role: .ward, publicKey: [], wards: [own])
        #expect(identity.mayWrite(forWard: own))
        #expect(!identity.mayWrite(forWard: lookalike), "the look-alike ward is not the node's")
        #expect(FeedScope(node: NodeID(3), wards: [own]).containsWard(own))
        #expect(!FeedScope(node: NodeID(3), wards: [own]).containsWard(lookalike))
        // Nor is an id bound to the look-alike bound to the node's ward: the ward node could
        // otherwise squat the ids the other ward's rows are derived under.
        #expect(BoundRowID.isBound("S1~\(own)", toWard: own))
        #expect(!BoundRowID.isBound("S1~\(lookalike)", toWard: own))
        #expect(BoundRowID.bind("S1~\(lookalike)", toWard: own) != "S1~\(lookalike)")
        let ward = try replica(3, wards: [own])
        #expect { try ward.write { try $0.insert(into: "stay", values: ["wardId": own], id: "S1~\(lookalike)") } } throws: { isRefused($0) }
        try ward.write { try $0.insert(into: "stay", values: ["wardId": own], id: "S1~\(own)") }
    }

    /// A forged change to the look-alike ward's row that names, as its owner write, the node's own
    /// creation of `X~W-K1`: the owner write is looked up by the row's key byte for byte, so the
    /// creation of the node's own row is not taken for an owner write of the other ward's row.
    @Test func anOwnerWriteOfItsOwnRowDoesNotOpenALookAlikeWardsRow() throws {
        let own = "W-K1", lookalike = "W-\u{212A}1"
        let wards: [NodeID: Set<String>] = [NodeID(3): [own]]
        var configuration = ReplicaConfiguration(nodeID: NodeID(1), policies: Self.policies, rowIDSeed: 1)
        configuration.authority = SharedSecretTrust(nodeID: NodeID(1), roles: [NodeID(3): .ward], wards: wards)
        let central = try Replica.inMemory(configuration: configuration)
        let victim = "X~\(lookalike)"
        try central.write { try $0.insert(into: "stay", values: ["wardId": lookalike, "note": "theirs"], id: victim) }
        var rogue = ChainWriter(authority: SharedSecretTrust(nodeID: NodeID(3), roles: [NodeID(3): .ward], wards: wards), policies: Self.policies)
        let now = central.wallClock.now()
        func stamp(_ seq: UInt64) -> Stamp { Stamp(hlc: HLC(milliseconds: now, counter: 0), origin: NodeID(3), seq: seq) }
        var created = WrittenColumns(width: 2)
        created[0] = ColumnState(value: own.databaseValue, meta: .register(stamp(1)))
        created[1] = ColumnState(value: "mine".databaseValue, meta: .register(stamp(1)))
        rogue.append(body: CommitCodec.encode([RowDelta(table: "stay", key: "X~\(own)", body: .columns(created), isInsert: true)]))
        var changed = WrittenColumns(width: 2)
        changed[1] = ColumnState(value: "taken".databaseValue, meta: .register(stamp(2)))
        var change = RowDelta(table: "stay", key: victim, body: .columns(changed))
        change.ownerSeen = CommitReference(origin: NodeID(3), seq: 1)
        rogue.append(body: CommitCodec.encode([change]))
        _ = try? central.apply(ChangeBatch(segments: [rogue.segment()]))
        let note = try central.reader.read { db in try String.fetchOne(db, sql: "SELECT note FROM stay WHERE id = ?", arguments: [victim]) }
        #expect(note == "theirs", "the look-alike ward's row is untouched")
    }

    @Test func aWardNodeMayMoveARowOutOfItsWardsButNotTouchOrTakeAnotherWardsRow() throws {
        let central = try replica(1), ward = try replica(2)
        try central.write { tx in
            try tx.insert(into: "stay", values: ["wardId": "W-9", "note": "elsewhere"], id: "OTHER")
            try tx.insert(into: "stay", values: ["wardId": "W-1", "note": "here"], id: "MINE")
            try tx.insert(into: "visit", values: ["wardId": "W-1", "note": "here"], id: "V1")
        }
        try sync(central, into: ward)
        #expect { try ward.write { try $0.update("stay", id: "OTHER", set: ["note": "edited"]) } } throws: { isRefused($0) }
        #expect { try ward.write { try $0.update("stay", id: "OTHER", set: ["wardId": "W-1"]) } } throws: { isRefused($0) }
        #expect { try ward.write { try $0.delete(from: "visit", id: "V1") } } throws: { isRefused($0) }
        try ward.write { try $0.update("stay", id: "MINE", set: ["note": "settled"]) }
        try ward.write { try $0.update("stay", id: "MINE", set: ["wardId": "W-9"]) }  // transferred out
        #expect { try ward.write { try $0.update("stay", id: "MINE", set: ["note": "again"]) } } throws: { isRefused($0) }
        // Central and call centers are not bound to wards.
        try central.write { try $0.update("stay", id: "OTHER", set: ["note": "central edits anything"]) }
        // What the ward did reaches central, which judges it against the writes it named.
        let report = try central.apply(ChangeBatch(decoding: try ward.changes(since: try central.versionVector()).0.encoded()))
        #expect(report.quarantined.isEmpty && report.commitsApplied == 2)
        #expect(try value(central, "stay", "MINE", "wardId") == "W-9".databaseValue)
    }

    /// A ward's change to a row central moved to another ward meanwhile (neither had seen the
    /// other's write) is judged against the write the ward saw, on every node alike: accepted.
    @Test func aChangeConcurrentWithATransferIsJudgedOnTheWriteItsWardSaw() throws {
        let central = try replica(1), ward = try replica(2), mirror = try replica(3)
        try central.write { try $0.insert(into: "stay", values: ["wardId": "W-1", "note": "admitted"], id: "S") }
        try sync(central, into: ward)
        try central.write { try $0.update("stay", id: "S", set: ["wardId": "W-9"]) }
        try ward.write { try $0.update("stay", id: "S", set: ["note": "fever at night"]) }
        try sync(central, into: mirror)
        let report = try central.apply(ChangeBatch(decoding: try ward.changes(since: try central.versionVector()).0.encoded()))
        #expect(report.quarantined.isEmpty && report.commitsApplied == 1)
        try sync(central, into: ward)
        try sync(ward, into: mirror)
        for node in [central, ward, mirror] {
            #expect(try value(node, "stay", "S", "wardId") == "W-9".databaseValue)
            #expect(try value(node, "stay", "S", "note") == "fever at night".databaseValue)
            #expect(try node.quarantines().isEmpty)
        }
    }

    /// A node that has not yet received the write a ward's change names holds the change (no
    /// quarantine) and applies it once the write arrives — in the same batch or a later one.
    @Test func aChangeWaitsForTheWriteItNames() throws {
        let central = try replica(1), ward = try replica(2), other = try replica(3)
        try central.write { try $0.insert(into: "stay", values: ["wardId": "W-1", "note": "admitted"], id: "S") }
        try sync(central, into: ward)
        try ward.write { try $0.update("stay", id: "S", set: ["note": "discharge planned"]) }
        let (wardBatch, _) = try ward.changes(since: VersionVector(), maxChanges: 1000)
        let alone = try other.apply(ChangeBatch(decoding: ChangeBatch(segments: wardBatch.segments.filter { $0.origin == NodeID(2) }).encoded()))
        #expect(alone.commitsApplied == 0 && alone.quarantined.isEmpty)
        #expect(try other.versionVector()[NodeID(2)] == 0)
        // A relay that sends the ward's run before central's: tried again within the batch.
        let (centralBatch, _) = try central.changes(since: VersionVector(), maxChanges: 1000)
        let reordered = ChangeBatch(segments: wardBatch.segments.filter { $0.origin == NodeID(2) } + centralBatch.segments)
        let report = try other.apply(ChangeBatch(decoding: reordered.encoded()))
        #expect(report.quarantined.isEmpty && report.commitsApplied == 2)
        #expect(try value(other, "stay", "S", "note") == "discharge planned".databaseValue)
    }

    /// Across batches (a relay's pages): the waiting run, and the ward's next run after it, are
    /// kept and applied when the named write arrives in a later batch.
    @Test func waitingRunsAreKeptForTheBatchesThatFollow() throws {
        let central = try replica(1), ward = try replica(2), other = try replica(3)
        try central.write { try $0.insert(into: "stay", values: ["wardId": "W-1", "note": "admitted"], id: "S") }
        try sync(central, into: ward)
        try ward.write { try $0.update("stay", id: "S", set: ["note": "first"]) }
        try ward.write { try $0.update("stay", id: "S", set: ["note": "second"]) }
        var centralsKnown = VersionVector()
        centralsKnown[NodeID(1)] = 1  // only the ward's own commits, a page each
        let (first, cursor) = try ward.changes(since: centralsKnown, maxChanges: 1)
        let (second, _) = try ward.changes(since: centralsKnown, after: cursor, maxChanges: 1)
        #expect(try other.apply(ChangeBatch(decoding: first.encoded())).commitsApplied == 0)
        #expect(try other.apply(ChangeBatch(decoding: second.encoded())).commitsApplied == 0, "a run after a gap waits too")
        #expect(other.waitingRuns.count == 2)
        let report = try other.apply(ChangeBatch(decoding: try central.changes(since: VersionVector()).0.encoded()))
        #expect(report.commitsApplied == 3 && report.quarantined.isEmpty)
        #expect(try value(other, "stay", "S", "note") == "second".databaseValue)
        #expect(other.waitingRuns.count == 0)
    }

    /// A commit that writes a row's ward twice: every node reads the write that wins, whether its
    /// row still holds that commit's write (A) or has moved on since (B), so both reach one verdict.
    @Test func aRowWrittenTwiceInOneCommitIsJudgedOnTheWinningWriteEverywhere() throws {
        let clock = TestClock(1_780_000_000_000)
        let central = try replica(1, clock: clock), a = try replica(3), b = try replica(4)
        try central.write { try $0.insert(into: "stay", values: ["wardId": "W-1", "note": "admitted"], id: "S") }  // central 1
        var rogue = ChainWriter(authority: Self.trust(2), policies: Self.policies)
        let at = HLC(milliseconds: 1_780_000_001_000, counter: 0)
        try rogue.commit(
            updating: [
                ("stay", "S", ["wardId": "W-1".databaseValue], (NodeID(1), 1)),
                ("stay", "S", ["wardId": "W-9".databaseValue], (NodeID(1), 1)),
            ], at: at)  // W-9 wins the tie
        try rogue.commit(updating: [("stay", "S", ["note": "rewritten".databaseValue], (NodeID(2), 1))], at: at.successor)
        let centralFirst = try central.changes(since: VersionVector()).0
        let rogueRun = rogue.segment()
        for node in [a, b] { try node.apply(ChangeBatch(decoding: centralFirst.encoded())) }
        // Central moves the row on (B hears of it before the rogue's commits): B must read the old commit back.
        clock.advance(by: 5_000)
        try central.write { try $0.update("stay", id: "S", set: ["wardId": "W-2"]) }
        try sync(central, into: b)
        for node in [a, b] {
            let report = try node.apply(ChangeBatch(decoding: ChangeBatch(segments: [rogueRun]).encoded()))
            #expect(report.commitsApplied == 1, "the first commit changes a W-1 row: allowed")
            #expect(report.quarantined.map(\.seq) == [2], "the second names a write that put the row in W-9")
        }
    }

    /// A kept run that turns out forged when it is finally checked is dropped; the honest batch
    /// that made it checkable applies. Runs that wait for nothing are not kept at all, and one
    /// origin keeps at most four.
    @Test func keptRunsAreBoundedAndAForgedOneIsDroppedWithoutRefusingTheBatchThatFollows() throws {
        let central = try replica(1), ward = try replica(2), receiver = try replica(3)
        try central.write { try $0.insert(into: "stay", values: ["wardId": "W-1", "note": "admitted"], id: "S") }
        try sync(central, into: ward)
        try ward.write { try $0.update("stay", id: "S", set: ["note": "first"]) }  // waits on the receiver
        var centralsKnown = VersionVector()
        centralsKnown[NodeID(1)] = 1
        let (waiting, _) = try ward.changes(since: centralsKnown)
        var chain = ChainWriter(authority: Self.trust(2), policies: Self.policies, after: 1, hash: try ward.chainHash(of: NodeID(2), seq: 1))
        try chain.commit(inserting: [("stay", "B~W-1", ["W-1".databaseValue, .null])], at: HLC(milliseconds: 1_780_000_000_001, counter: 0))
        var forged = chain.segment()
        forged.bodies[0][forged.bodies[0].count - 1] ^= 1
        // Gaps of an origin with nothing waiting: not kept.
        var stranger = ChainWriter(authority: Self.trust(2), policies: Self.policies, after: 5)
        try stranger.commit(inserting: [("stay", "X~W-1", ["W-1".databaseValue, .null])], at: HLC(milliseconds: 1_780_000_000_002, counter: 0))
        #expect(try receiver.apply(ChangeBatch(segments: [stranger.segment()])).commitsApplied == 0)
        #expect(receiver.waitingRuns.count == 0)
        try receiver.apply(ChangeBatch(decoding: waiting.encoded()))
        for _ in 0..<6 { try receiver.apply(ChangeBatch(segments: [forged])) }
        #expect(receiver.waitingRuns.count == WaitingRuns.maximumRunsPerOrigin)
        let report = try receiver.apply(ChangeBatch(decoding: try central.changes(since: VersionVector()).0.encoded()))
        #expect(report.commitsApplied == 2)
        #expect(receiver.waitingRuns.count == 0)
        #expect(try receiver.versionVector()[NodeID(2)] == 1)
        #expect(try value(receiver, "stay", "S", "note") == "first".databaseValue)
    }

    /// A stolen gateway running modified code: changes another ward's row naming the write that put
    /// it there, names a write that never touched the row, names nothing, deletes a ward's row.
    @Test(arguments: ["names the other ward's write", "names an unrelated write", "names nothing", "deletes"])
    func aChangeToAnotherWardsRowQuarantinesItsWardOrigin(attack: String) throws {
        let central = try replica(1)
        try central.write { try $0.insert(into: "stay", values: ["wardId": "W-9", "note": "elsewhere"], id: "OTHER") }  // central commit 1
        try central.write { try $0.insert(into: "visit", values: ["wardId": "W-1", "note": "mine"], id: "V") }  // central commit 2
        var rogue = ChainWriter(authority: Self.trust(2), policies: Self.policies)
        let at = HLC(milliseconds: 1_780_000_000_000, counter: 0)
        switch attack {
        case "names the other ward's write":
            try rogue.commit(updating: [("stay", "OTHER", ["note": "rewritten".databaseValue], (NodeID(1), 1))], at: at)
        case "names an unrelated write":
            try rogue.commit(updating: [("stay", "OTHER", ["note": "rewritten".databaseValue], (NodeID(1), 2))], at: at)
        case "names nothing":
            try rogue.commit(updating: [("stay", "OTHER", ["note": "rewritten".databaseValue], nil)], at: at)
        default:
            rogue.commit(deleting: "V", from: "visit", at: at)
        }
        let report = try central.apply(ChangeBatch(decoding: ChangeBatch(segments: [rogue.segment()]).encoded()))
        #expect(report.commitsApplied == 0)
        #expect(report.quarantined.map(\.origin) == [NodeID(2)])
        #expect(try value(central, "stay", "OTHER", "note") == "elsewhere".databaseValue)
        #expect(try central.statistics().rows["visit"] == 1)
    }

    @Test func aRowCreatedForAnotherWardQuarantinesItsWardOrigin() throws {
        let central = try replica(1)
        // A stolen gateway running modified code signs whatever it likes with its own key.
        var rogue = ChainWriter(authority: Self.trust(2), policies: Self.policies)
        try rogue.commit(inserting: [("stay", "MINE~W-1", ["W-1".databaseValue, "fine".databaseValue])], at: HLC(milliseconds: 1_780_000_000_000, counter: 0))
        try rogue.commit(
            inserting: [("answer", BoundRowID.bind("THEIRS", toNode: NodeID(2)), ["W-9".databaseValue, 3.databaseValue])], at: HLC(milliseconds: 1_780_000_000_001, counter: 0))
        try rogue.commit(inserting: [("stay", "LATER~W-1", ["W-1".databaseValue, .null])], at: HLC(milliseconds: 1_780_000_000_002, counter: 0))
        let report = try central.apply(ChangeBatch(segments: [rogue.segment()]))
        #expect(report.commitsApplied == 1)
        #expect(report.quarantined.map(\.origin) == [NodeID(2)])
        #expect(report.quarantined.first?.rule.contains("only for the wards its certificate names") == true)
        #expect(try central.statistics().rows["answer"] == 0)
        #expect(try central.statistics().rows["stay"] == 1, "the commit after the refused one is held too")
    }

    /// New ids of rows that have a ward are bound to it; a ward node given an id that is not
    /// bound to the row's ward is told so before anything is written.
    @Test func aWardNodeCreatesRowsOnlyUnderIdsBoundToTheirWard() throws {
        let ward = try replica(2), central = try replica(1)
        let made = try ward.write { try $0.insert(into: "stay", values: ["wardId": "W-2", "note": "admitted"]) }
        #expect(BoundRowID.ward(of: made) == "W-2")
        #expect(try central.write { try $0.insert(into: "stay", values: ["wardId": "W-9"]) }.hasSuffix("~W-9"))
        #expect(try central.write { try $0.insert(into: "stay", values: [:]) }.contains("~") == false)
        for id in ["his-7", "his-7~W-9", "his-7~W-2", "his-7~W-1~W-9"] {
            #expect { try ward.write { try $0.insert(into: "stay", values: ["wardId": "W-1"], id: id) } } throws: { isRefused($0) }
        }
        try ward.write { try $0.insert(into: "stay", values: ["wardId": "W-1"], id: "his-7~W-1") }
        #expect(BoundRowID.bind("his-7~W-1", toWard: "W-1") == "his-7~W-1")
        #expect(BoundRowID.bind("his-7", toWard: "W-1") == "his-7~W-1")
    }

    /// A stolen gateway running modified code takes another ward's row over by creating its id
    /// again for its own ward, stamped later (last writer wins) or earlier (first insert of an
    /// append-only row wins; or losing quietly, to name that write in a later change), or squats
    /// an id central will derive for another ward: refused whole, its origin quarantined, the row
    /// untouched.
    @Test(arguments: [
        "re-creates another ward's row, later", "re-creates it earlier, then names that",
        "re-creates an append-only row, earlier", "squats an id another ward will use", "binds to no ward",
    ])
    func aWardCreatingAnIdNotBoundToItsOwnWardIsQuarantined(attack: String) throws {
        let central = try replica(1)
        let theirs = BoundRowID.bind("his-1", toWard: "W-9")
        try central.write { tx in
            try tx.insert(into: "stay", values: ["wardId": "W-9", "note": "elsewhere"], id: theirs)
            try tx.insert(into: "answer", values: ["wardId": "W-9", "score": 10], id: theirs)
        }
        var rogue = ChainWriter(authority: Self.trust(2), policies: Self.policies)
        let early = HLC(milliseconds: 1_700_000_000_000, counter: 0), late = HLC(milliseconds: 1_790_000_000_000, counter: 0)
        switch attack {
        case "re-creates another ward's row, later":
            try rogue.commit(inserting: [("stay", theirs, ["W-1".databaseValue, "taken".databaseValue])], at: late)
        case "re-creates it earlier, then names that":
            try rogue.commit(inserting: [("stay", theirs, ["W-1".databaseValue, "quiet".databaseValue])], at: early)
            try rogue.commit(updating: [("stay", theirs, ["note": "rewritten".databaseValue], (NodeID(2), 1))], at: late)
        case "re-creates an append-only row, earlier":
            try rogue.commit(inserting: [("answer", theirs, ["W-1".databaseValue, 0.databaseValue])], at: early)
        case "squats an id another ward will use":
            try rogue.commit(inserting: [("stay", BoundRowID.bind("his-2", toWard: "W-9"), ["W-1".databaseValue, "squat".databaseValue])], at: late)
        default:
            try rogue.commit(inserting: [("stay", "his-3", ["W-1".databaseValue, "unbound".databaseValue])], at: late)
        }
        let report = try central.apply(ChangeBatch(decoding: ChangeBatch(segments: [rogue.segment()]).encoded()))
        #expect(report.commitsApplied == 0)
        #expect(report.quarantined.map(\.origin) == [NodeID(2)])
        #expect(report.quarantined.first?.rule.contains(attack.contains("append-only") ? "only under ids bound to itself" : "only under ids bound to their ward") == true)
        #expect(try value(central, "stay", theirs, "wardId") == "W-9".databaseValue)
        #expect(try value(central, "stay", theirs, "note") == "elsewhere".databaseValue)
        #expect(try value(central, "answer", theirs, "score") == 10.databaseValue)
        #expect(try central.statistics().rows["stay"] == 1)
    }

    /// Append-only rows keep the earliest of conflicting creations: a stolen gateway that creates
    /// the id of central's audit-like entry again, stamped earlier, would replace its content.
    /// Rows it creates in append-only tables carry ids bound to itself, so it is refused whole.
    @Test func aNodeCreatingAnotherNodesAppendOnlyRowAgainIsQuarantined() throws {
        let central = try replica(1), ward = try replica(2), other = try replica(3)
        let entry = try central.write { try $0.insert(into: "logEntry", values: ["text": "rule changed by admin"]) }
        #expect(!entry.contains("~"), "central's ids are its own")
        var rogue = ChainWriter(authority: Self.trust(2), policies: Self.policies)
        try rogue.commit(inserting: [("logEntry", entry, ["nothing happened".databaseValue])], at: HLC(milliseconds: 1_700_000_000_000, counter: 0))
        let report = try central.apply(ChangeBatch(decoding: ChangeBatch(segments: [rogue.segment()]).encoded()))
        #expect(report.commitsApplied == 0 && report.quarantined.map(\.origin) == [NodeID(2)])
        #expect(report.quarantined.first?.rule.contains("only under ids bound to itself") == true)
        #expect(try value(central, "logEntry", entry, "text") == "rule changed by admin".databaseValue)
        // The honest ward: told locally, and its own entries (bound to itself) accepted everywhere.
        try sync(central, into: ward)
        #expect { try ward.write { try $0.insert(into: "logEntry", values: ["text": "x"], id: entry) } } throws: { isRefused($0) }
        let own = try ward.write { try $0.insert(into: "logEntry", values: ["text": "bedside visit done"]) }
        #expect(BoundRowID.isBound(own, toNode: NodeID(2)) && BoundRowID.base(of: own).count == 26)
        try sync(ward, into: other)
        #expect(try other.quarantines().isEmpty && value(other, "logEntry", own, "text") == "bedside visit done".databaseValue)
    }

    @Test func theOwnerColumnMustBeADeclaredLastWriterWinsTextColumn() throws {
        #expect(throws: PolicyFileError.self) {
            try PolicySet(parsing: "table t\n  key id\n  owned-by ward\n  column other text\n", file: "bad.policy")
        }
        #expect(throws: PolicyFileError.self) {
            try PolicySet(parsing: "table t\n  key id\n  owned-by ward\n  column ward integer\n", file: "bad.policy")
        }
        #expect(throws: PolicyFileError.self) {
            try PolicySet(parsing: "table t\n  key id\n  owned-by ward\n  owned-by ward\n  column ward text\n", file: "bad.policy")
        }
    }
}
