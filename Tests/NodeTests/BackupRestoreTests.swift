import CRMDomain
import Foundation
import GRDB
import Replica
import Sodium
import SyncProtocol
import TestSupport
import Testing

@testable import NodeRuntime

/// `suifang backup` and `suifang restore` on a node's directory: a backup taken while the node is
/// open holds one consistent moment, is sealed like the node, and restores under a new id; a
/// backup that was altered, cut short or opened with the wrong secret restores nothing.
/// (`testnets/backup-restore.json` does it with running processes and peers.)
@Suite("Backup and restore")
struct BackupRestoreTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("backup-\(UUID())")
    var central: String { root.appendingPathComponent("central").path }
    var keyFile: String { root.appendingPathComponent("central.key").path }
    var archive: String { root.appendingPathComponent("central.backup").path }
    var restored: String { root.appendingPathComponent("restored").path }

    func makeCentral(encrypted: Bool = true) throws {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try NodeDirectory(central).createCentral(
            name: "central",
            NodeSetup(listen: "127.0.0.1:0", policies: PolicyDirectory(NodeNetworkTests.policies), unlock: encrypted ? .keyFile(keyFile) : nil))
    }

    func patientNames(_ directory: String, unlock: UnlockSource? = nil) throws -> [String] {
        let (_, _, runtime) = try NodeRuntime.open(directory: NodeDirectory(directory, unlock: unlock), logger: quietLogger, passwordStrength: .minimum)
        return try runtime.replica.reader.read { db in try String.fetchAll(db, sql: "SELECT name FROM patient ORDER BY name") }
    }

    @Test func aBackupTakenWhileTheNodeWritesRestoresThatMomentUnderANewID() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try makeCentral()
        let (_, configuration, runtime) = try NodeRuntime.open(directory: central, logger: quietLogger, passwordStrength: .minimum)
        for index in 0..<30 {
            _ = try await runtime.crm.patients.create(.system, PatientInput(name: "备份患者\(index)", idNumber: nil, phone: "1390000\(String(format: "%04d", index))"))
        }
        let before = try runtime.replica.versionVector()
        let report = try NodeDirectory(central).backup(to: archive, now: 1_800_000_000_000)
        // The node goes on writing after the backup's moment.
        _ = try await runtime.crm.patients.create(.system, PatientInput(name: "备份之后", idNumber: nil, phone: "13900009999"))
        #expect(report.encrypted && report.pages > 10)
        #expect(report.manifest.files.map(\.name).contains("policies/admin.policy"))
        #expect(!report.manifest.files.map(\.name).contains { $0.hasPrefix("replica.sqlite-") || $0 == "node.lock" })
        let mode = try FileManager.default.attributesOfItem(atPath: archive)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // Sealed like the node: no patient's name, no secret key in the clear.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
        #expect(bytes.range(of: Data("备份患者".utf8)) == nil)
        #expect(bytes.range(of: Data(try NodeDirectory(central).identity().key.secretKeyBytes)) == nil)

        let restore = try await NodeDirectory(restored, unlock: .keyFile(keyFile)).restore(from: archive, identity: .central, now: 1_800_000_000_000)
        #expect(restore.previousID.description == configuration.nodeID && restore.encrypted)
        #expect(restore.newID != restore.previousID)
        let names = try patientNames(restored, unlock: .keyFile(keyFile))
        #expect(names.count == 30 && !names.contains("备份之后"))
        let directory = NodeDirectory(restored, unlock: .keyFile(keyFile))
        #expect(try directory.configuration().nodeID == restore.newID.description)
        #expect(try directory.identity().certificate.nodeID == restore.newID)
        #expect(try directory.identity().key.publicKey != NodeDirectory(central).identity().key.publicKey, "a restored central signs with a new key")
        let (_, _, restoredRuntime) = try NodeRuntime.open(directory: directory, logger: quietLogger, passwordStrength: .minimum)
        #expect(try restoredRuntime.replica.versionVector() == before.merging(VersionVector()))
        _ = try await restoredRuntime.crm.patients.create(.system, PatientInput(name: "恢复之后", idNumber: nil, phone: "13900008888"))
        #expect(try restoredRuntime.replica.versionVector()[restore.newID] == 1, "the restored node numbers its commits afresh")
        #expect(try restoredRuntime.replica.versionVector()[restore.previousID] == before[restore.previousID])
    }

    @Test func anAlteredCutOrWronglyUnlockedBackupRestoresNothing() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try makeCentral()
        _ = try NodeDirectory(central).backup(to: archive, now: 1_800_000_000_000)
        let good = try Data(contentsOf: URL(fileURLWithPath: archive))
        let wrongKey = root.appendingPathComponent("wrong.key").path
        try UnlockSource.createKeyFile(at: wrongKey)
        let cases: [(String, Data, UnlockSource?, String)] = [
            ("no secret", good, nil, "give --unlock"),
            ("wrong secret", good, .keyFile(wrongKey), "does not open"),
            ("a body byte flipped", flipped(good, at: good.count - 100), .keyFile(keyFile), "altered"),
            ("a manifest byte flipped", flipped(good, at: 800), .keyFile(keyFile), "altered"),
            ("cut short", good.prefix(good.count - 5000), .keyFile(keyFile), "cut short"),
            ("a byte added", good + Data([0]), .keyFile(keyFile), "altered"),
            ("not a backup", Data("hello".utf8), .keyFile(keyFile), "not a Suifang backup"),
        ]
        for (name, bytes, unlock, message) in cases {
            let path = root.appendingPathComponent("case.backup").path
            try bytes.write(to: URL(fileURLWithPath: path))
            await #expect("\(name)") {
                _ = try await NodeDirectory(restored, unlock: unlock).restore(from: path, identity: .central, now: 1_800_000_000_000)
            } throws: { error in
                "\(error)".contains(message)
            }
            #expect(!FileManager.default.fileExists(atPath: restored), "\(name): nothing is left behind")
        }
    }

    @Test func aBackupNamingPathsOutsideTheDirectoryIsRefused() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try makeCentral(encrypted: false)
        _ = try NodeDirectory(central).backup(to: archive, now: 1_800_000_000_000)
        // A node in the clear: its manifest is plain JSON, so a hostile file can rename an entry.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
        let name = Data("\"name\":\"ca.pem\"".utf8), evil = Data("\"name\":\"../x.p\"".utf8)
        let range = try #require(bytes.range(of: name))
        bytes.replaceSubrange(range, with: evil)
        try bytes.write(to: URL(fileURLWithPath: archive))
        await #expect(
            performing: {
                _ = try await NodeDirectory(restored).restore(from: archive, identity: .central, allowUnencrypted: true, now: 1_800_000_000_000)
            }, throws: { error in "\(error)".contains("cannot hold") })
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("x.p").path))
        #expect(!FileManager.default.fileExists(atPath: restored))
    }

    @Test func aBackupInTheClearIsRestoredOnlyWhenAskedForAndNeverUnderAnUnlockSecret() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        // The attack: the encrypted backup is swapped for one in the clear (whose manifest nothing
        // authenticates) and the operator restores it with the node's unlock secret as usual.
        try makeCentral(encrypted: false)
        _ = try NodeDirectory(central).backup(to: archive, now: 1_800_000_000_000)
        try UnlockSource.createKeyFile(at: keyFile)
        for allow in [false, true] {
            await #expect(
                performing: {
                    _ = try await NodeDirectory(restored, unlock: .keyFile(keyFile)).restore(
                        from: archive, identity: .central, allowUnencrypted: allow, now: 1_800_000_000_000)
                }, throws: { error in "\(error)".contains("not encrypted, but an unlock secret was given") })
            #expect(!FileManager.default.fileExists(atPath: restored))
        }
        await #expect(
            performing: {
                _ = try await NodeDirectory(restored).restore(from: archive, identity: .central, now: 1_800_000_000_000)
            }, throws: { error in "\(error)".contains("--allow-unencrypted") })
        #expect(!FileManager.default.fileExists(atPath: restored))
        let report = try await NodeDirectory(restored).restore(from: archive, identity: .central, allowUnencrypted: true, now: 1_800_000_000_000)
        #expect(!report.encrypted)
    }

    @Test func aRestoreNeedsAnEmptyDirectoryAndTheRightIdentity() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try makeCentral()
        _ = try NodeDirectory(central).backup(to: archive, now: 1_800_000_000_000)
        #expect(throws: NodeSetupError.self) { try NodeDirectory(central).backup(to: archive, now: 1_800_000_000_000) }
        await #expect(
            performing: {
                _ = try await NodeDirectory(central, unlock: .keyFile(keyFile)).restore(from: archive, identity: .central, now: 1_800_000_000_000)
            }, throws: { error in "\(error)".contains("not an empty directory") })
        #expect(try patientNames(central).isEmpty, "the node it refused to restore over is untouched")
        // Central issues its own certificate; a token is for a ward or call-center node.
        let token = try NodeDirectory(central).enrol(name: "ward-9", role: .ward, wards: ["W9"], centralAddress: nil, validDays: 30).token
        await #expect(
            performing: {
                _ = try await NodeDirectory(restored, unlock: .keyFile(keyFile)).restore(from: archive, identity: .token(token), now: 1_800_000_000_000)
            }, throws: { error in "\(error)".contains("central restores on its own") })
        #expect(!FileManager.default.fileExists(atPath: restored))
    }

    func flipped(_ data: Data, at index: Int) -> Data {
        var copy = data
        copy[index] ^= 0xFF
        return copy
    }
}

/// node.json's `backup` (or `serve --backup-dir`): a running node backs itself up on schedule and
/// keeps the newest few.
@Suite("Scheduled backups")
struct ScheduledBackupTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("scheduled-\(UUID())")

    @Test func aBackupIsTakenWhenDueAndOnlyTheNewestAreKept() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let central = root.appendingPathComponent("central").path
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try NodeDirectory(central).createCentral(
            name: "central", NodeSetup(listen: "127.0.0.1:0", policies: PolicyDirectory(NodeNetworkTests.policies), unlock: .keyFile(root.appendingPathComponent("k").path)))
        let folder = root.appendingPathComponent("backups")
        let schedule = BackupSchedule(directory: folder.path, everyHours: 24, keep: 2)
        let hour: UInt64 = 3_600_000, start: UInt64 = 1_800_000_000_000
        let directory = NodeDirectory(central)
        // Someone else's file in the folder is never touched.
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: folder.appendingPathComponent("central-notes.txt").path, contents: Data("mine".utf8))
        let first = try directory.runScheduledBackup(schedule, now: start)
        #expect(first.written?.hasSuffix("central-20270115T080000Z.sfbackup") == true, "\(first)")
        #expect(try directory.runScheduledBackup(schedule, now: start + 23 * hour).written == nil, "not due yet")
        #expect(try directory.runScheduledBackup(schedule, now: start + 24 * hour).written != nil)
        let third = try directory.runScheduledBackup(schedule, now: start + 48 * hour)
        #expect(third.written != nil && third.removed == ["central-20270115T080000Z.sfbackup"])
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(left == ["central-20270116T080000Z.sfbackup", "central-20270117T080000Z.sfbackup", "central-notes.txt"])
        // A backup dated years ahead (a clock that was wrong, or a planted file) neither stops the
        // schedule nor makes it prune the genuine backups first.
        let future = folder.appendingPathComponent("central-20300101T000000Z.sfbackup").path
        FileManager.default.createFile(atPath: future, contents: Data("x".utf8))
        let fourth = try directory.runScheduledBackup(schedule, now: start + 72 * hour)
        #expect(fourth.written != nil && fourth.removed == ["central-20270116T080000Z.sfbackup"], "\(fourth)")
        #expect(FileManager.default.fileExists(atPath: future))
        #expect(throws: NodeSetupError.self) { try BackupSchedule(directory: folder.path, everyHours: 0, keep: 2).validate() }
        #expect(throws: NodeSetupError.self) { try BackupSchedule(directory: folder.path, everyHours: 24, keep: 0).validate() }
    }
}

extension BackupRestoreTests {
    @Test func aBackupCarriesOnlyTheNodesOwnRegularFilesAndNeverItsKeyOrPendingCodes() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try makeCentral()
        let directory = NodeDirectory(central)
        _ = try directory.issueEnrolmentCode(
            name: "ward-9", role: .ward, wards: ["W9"], validDays: 30, httpNames: [], hours: 24, now: SystemWallClock().now())
        #expect(FileManager.default.fileExists(atPath: directory.file(PendingEnrolments.file).path))
        // A link planted in the directory would carry a file from elsewhere into the backup.
        let outside = root.appendingPathComponent("elsewhere.txt")
        try Data("secret of another program".utf8).write(to: outside)
        try FileManager.default.createSymbolicLink(atPath: directory.file("notes.txt").path, withDestinationPath: outside.path)
        #expect(throws: NodeSetupError.self) { try directory.backup(to: archive, now: 1_800_000_000_000) }
        try FileManager.default.removeItem(atPath: directory.file("notes.txt").path)
        // A name restore would refuse is refused at backup time, not discovered on the bad day.
        FileManager.default.createFile(atPath: directory.file("笔记.txt").path, contents: Data("x".utf8))
        #expect(throws: NodeSetupError.self) { try directory.backup(to: archive, now: 1_800_000_000_000) }
        try FileManager.default.removeItem(atPath: directory.file("笔记.txt").path)
        #expect(!FileManager.default.fileExists(atPath: archive) && !FileManager.default.fileExists(atPath: archive + ".partial"))
        // Redeemed or not, pending codes stay with the node: a restored central starts with none.
        let report = try directory.backup(to: archive, now: 1_800_000_000_000)
        #expect(!report.manifest.files.map(\.name).contains(PendingEnrolments.file))
        // The snapshot was written owner-only inside the node's directory and is gone again.
        #expect(try FileManager.default.contentsOfDirectory(atPath: central).allSatisfy { !$0.hasPrefix(NodeDirectory.snapshotPrefix) })
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path).allSatisfy { !$0.hasPrefix(".") })
    }

    @Test func aKeyFileInsideTheNodesDirectoryIsNeverBackedUp() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let inside = URL(fileURLWithPath: central).appendingPathComponent("unlock.key").path
        try NodeDirectory(central).createCentral(
            name: "central", NodeSetup(listen: "127.0.0.1:0", policies: PolicyDirectory(NodeNetworkTests.policies), unlock: .keyFile(inside)))
        #expect(FileManager.default.fileExists(atPath: inside))
        #expect(performing: { try NodeDirectory(central).backup(to: archive, now: 1_800_000_000_000) }, throws: { "\($0)".contains("lies inside its directory") })
        #expect(!FileManager.default.fileExists(atPath: archive))
    }

    @Test func anEnvelopeAskingForEndlessStretchingIsRefusedBeforeAnyWork() throws {
        // A backup's or a copied directory's replica.key is hostile until opened: its Argon2 limits
        // would run before any check can fail.
        var envelope = try DataKeyEnvelope.seal(Sodium.randomBytes(32), secret: Array("a passphrase".utf8), passphrase: true)
        envelope.operations = UInt64(UInt32.max)
        envelope.memory = 4 << 30
        #expect(performing: { try envelope.open(secret: Array("a passphrase".utf8)) }, throws: { "\($0)".contains("more passphrase stretching") })
    }
}
