import Foundation
import GRDB
import Sodium
import TestSupport
import Testing

@testable import Replica

/// Encryption at rest through the page-encrypting VFS: nothing readable on disk, and a page that
/// was altered, moved or sealed under another key is refused, never read.
@Suite("Replica encryption at rest")
struct EncryptionTests {
    static let policies = try! PolicySet(parsing: "table card\n  key id\n  column name text\n  column note text\n")
    static let name = "加密测试患者李四"
    static let note = "一段很长的随访意见，只应存在于密文中"

    func configuration(key: [UInt8]) throws -> ReplicaConfiguration {
        var configuration = ReplicaConfiguration(policies: Self.policies)
        configuration.encryption = try ReplicaEncryption(dataKey: key)
        return configuration
    }

    /// Writes `count` cards (enough for many pages) and returns the file, closed and checkpointed.
    func makeReplica(key: [UInt8], count: Int = 300, checkpoint: Bool = true) throws -> (TemporaryDatabase, Replica?) {
        let file = TemporaryDatabase("encrypted")
        let replica = try Replica.open(at: file.path, configuration: configuration(key: key))
        for index in 0..<count {
            _ = try replica.write { tx in
                try tx.insert(into: "card", values: ["name": "\(Self.name)\(index)", "note": "\(Self.note)\(index)"])
            }
        }
        if checkpoint {
            try replica.writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            return (file, nil)
        }
        return (file, replica)
    }

    func bytes(_ file: TemporaryDatabase) throws -> Data {
        var all = Data()
        for suffix in ["", "-wal", "-shm", "-journal"] where FileManager.default.fileExists(atPath: file.path + suffix) {
            all += try Data(contentsOf: URL(fileURLWithPath: file.path + suffix))
        }
        return all
    }

    func readAll(_ file: TemporaryDatabase, key: [UInt8]) throws -> Int {
        let replica = try Replica.open(at: file.path, configuration: configuration(key: key))
        return try replica.reader.read { db in
            try String.fetchAll(db, sql: "SELECT name || note FROM card").count
        }
    }

    @Test func noTextOfARowIsOnDiskWhileOpenOrAfterClose() throws {
        let key = PageCipher.randomKey()
        let (file, open) = try makeReplica(key: key, checkpoint: false)
        defer { file.remove() }
        let whileOpen = try bytes(file)
        #expect(whileOpen.count > 100_000)
        for text in [Self.name, Self.note, "SQLite format 3", "CREATE TABLE"] {
            #expect(whileOpen.range(of: Data(text.utf8)) == nil, "'\(text)' readable in the database or its WAL")
        }
        _ = open
        #expect(try readAll(file, key: key) == 300)
        let afterClose = try bytes(file)
        #expect(afterClose.range(of: Data(Self.name.utf8)) == nil)
    }

    @Test func aTamperedPageIsRefusedWithAClearErrorAndNeverRead() throws {
        let key = PageCipher.randomKey()
        let (file, _) = try makeReplica(key: key)
        defer { file.remove() }
        try? FileManager.default.removeItem(atPath: file.path + "-wal")
        try? FileManager.default.removeItem(atPath: file.path + "-shm")
        var data = try Data(contentsOf: URL(fileURLWithPath: file.path))
        let pages = data.count / ReplicaEncryption.pageSize
        #expect(pages > 20)
        // Flip one bit in the middle of every data page past the schema: any read of the cards meets one.
        for page in 3..<pages { data[page * ReplicaEncryption.pageSize + 1000] ^= 0x01 }
        try data.write(to: URL(fileURLWithPath: file.path))
        #expect(throws: DatabaseError.self) { try readAll(file, key: key) }
        // Other tests running at the same time refuse pages of their own files: find this file's.
        let name = URL(fileURLWithPath: file.path).lastPathComponent
        let refusal = try #require(ReplicaEncryption.recentRefusals.last { $0.contains(name + " ") })
        #expect(refusal.contains("failed authentication") && refusal.contains("page"), "\(refusal)")
        #expect(!refusal.contains(Self.name))
    }

    @Test func aPageMovedToAnotherPlaceIsRefused() throws {
        let key = PageCipher.randomKey()
        let (file, _) = try makeReplica(key: key)
        defer { file.remove() }
        try? FileManager.default.removeItem(atPath: file.path + "-wal")
        try? FileManager.default.removeItem(atPath: file.path + "-shm")
        var data = try Data(contentsOf: URL(fileURLWithPath: file.path))
        let size = ReplicaEncryption.pageSize
        let pages = data.count / size
        // Every page past the schema replaced by a validly sealed copy of another page.
        let source = data[(2 * size)..<(3 * size)]
        for page in 3..<pages { data.replaceSubrange((page * size)..<((page + 1) * size), with: source) }
        try data.write(to: URL(fileURLWithPath: file.path))
        #expect(throws: DatabaseError.self) { try readAll(file, key: key) }
    }

    @Test func aTamperedWALFrameIsRefused() throws {
        let key = PageCipher.randomKey()
        let (file, open) = try makeReplica(key: key, count: 50, checkpoint: false)
        defer { file.remove() }
        // A copy of the database and its WAL as a crash would leave them, one frame's page altered.
        let copy = TemporaryDatabase("encrypted-copy")
        defer { copy.remove() }
        try FileManager.default.copyItem(atPath: file.path, toPath: copy.path)
        var wal = try Data(contentsOf: URL(fileURLWithPath: file.path + "-wal"))
        _ = open
        #expect(wal.count > 32 + 24 + ReplicaEncryption.pageSize)
        wal[32 + 24 + 100] ^= 0x80
        try wal.write(to: URL(fileURLWithPath: copy.path + "-wal"))
        #expect(throws: (any Error).self) { try readAll(copy, key: key) }
    }

    @Test func anotherKeyOpensNothing() throws {
        let (file, _) = try makeReplica(key: PageCipher.randomKey(), count: 5)
        defer { file.remove() }
        #expect(throws: (any Error).self) { try readAll(file, key: PageCipher.randomKey()) }
        #expect(throws: (any Error).self) {
            try Replica.open(at: file.path, configuration: ReplicaConfiguration(policies: Self.policies))
        }
    }

    @Test func theLayoutMapsSQLitesAccessesOntoPages() {
        let layout = PageLayout(pageSize: 4096)
        #expect(layout.databaseAccess(offset: 0, count: 4096) == .page(number: 1))
        #expect(layout.databaseAccess(offset: 8192, count: 4096) == .page(number: 3))
        #expect(layout.databaseAccess(offset: 0, count: 100) == .partOfPage(number: 1, start: 0))
        #expect(layout.databaseAccess(offset: 24, count: 16) == .partOfPage(number: 1, start: 24))
        #expect(layout.databaseAccess(offset: 4000, count: 200) == .unsupported)
        #expect(layout.logAccess(offset: 0, count: 32) == .headers)
        #expect(layout.logAccess(offset: 32, count: 24) == .headers)
        #expect(layout.logAccess(offset: 56, count: 4096) == .page(offset: 56))
        #expect(layout.logAccess(offset: 32, count: 4120) == .frame(pageOffset: 56))
        #expect(layout.logAccess(offset: 32 + 4120, count: 24) == .headers)
        #expect(layout.logAccess(offset: 32 + 4120 + 24, count: 4096) == .page(offset: 32 + 4120 + 24))
        #expect(layout.logAccess(offset: 60, count: 10) == .unsupported)
        #expect(layout.logAccess(offset: 20, count: 20) == .unsupported)
    }
}
