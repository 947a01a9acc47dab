import Foundation
import GRDBSQLite
import Logging
import Sodium
import Synchronization

/// A SQLite VFS over the system's default one that encrypts the replica's pages
/// (``PageCipher``, XChaCha20-Poly1305 with nonce and tag in each page's reserved bytes).
///
/// One VFS is registered per data key, named after the key's fingerprint, and kept for the life
/// of the process; a replica picks it with a `file:…?vfs=NAME` URI (``ReplicaEncryption``).
/// The VFS opens:
/// - the database and its write-ahead log, page-encrypted (``PageLayout``);
/// - a rollback journal only while the database is still empty (SQLite journals the one
///   transaction that turns WAL on; nothing else is ever journalled);
/// - no temporary file: replica connections keep temporary data in memory
///   (`temp_store = MEMORY`), and any file SQLite would still spill is refused, never written
///   in the clear.
/// The `-shm` wal-index holds page numbers and hashes, no row data, and stays as SQLite makes it.
final class EncryptedVFS: @unchecked Sendable {
    let name: String
    let cipher: PageCipher
    let layout: PageLayout
    fileprivate let base: UnsafeMutablePointer<sqlite3_vfs>
    private let vfs: UnsafeMutablePointer<sqlite3_vfs>
    private let cName: UnsafeMutablePointer<CChar>

    private static let registered = Mutex<[String: EncryptedVFS]>([:])
    static let logger = Logger(label: "suifang.replica.encryption")

    /// Bytes in front of the wrapped file inside SQLite's `sqlite3_file` allocation: our methods
    /// pointer and the ``EncryptedFile`` that owns the state.
    static let fileHeaderBytes = 16

    /// The VFS for `key`, registered on first use.
    static func forKey(_ key: [UInt8], pageSize: Int) throws -> EncryptedVFS {
        let fingerprint = Sodium.hash([Array("suifang vfs name".utf8), key], length: 16).prefix(8).map { String(format: "%02x", $0) }.joined()
        let name = "suifang-aead-\(fingerprint)-\(pageSize)"
        return try registered.withLock { table in
            if let existing = table[name] { return existing }
            let vfs = try EncryptedVFS(name: name, cipher: try PageCipher(key: key), pageSize: pageSize)
            table[name] = vfs
            return vfs
        }
    }

    private init(name: String, cipher: PageCipher, pageSize: Int) throws {
        guard let base = sqlite3_vfs_find(nil) else { throw ReplicaError(.unsupportedSetting, "SQLite has no default VFS") }
        self.name = name
        self.cipher = cipher
        self.layout = PageLayout(pageSize: pageSize)
        self.base = base
        self.cName = strdup(name)
        vfs = .allocate(capacity: 1)
        var copy = base.pointee
        copy.iVersion = min(base.pointee.iVersion, 2)
        copy.pNext = nil
        copy.zName = UnsafePointer(cName)
        copy.szOsFile = Int32(Self.fileHeaderBytes) + base.pointee.szOsFile
        copy.xOpen = encryptedOpen
        vfs.initialize(to: copy)
        vfs.pointee.pAppData = Unmanaged.passUnretained(self).toOpaque()
        let result = sqlite3_vfs_register(vfs, 0)
        guard result == SQLITE_OK else { throw ReplicaError(.unsupportedSetting, "SQLite refused the encrypting VFS (code \(result))") }
    }

    fileprivate static func from(_ vfs: UnsafeMutablePointer<sqlite3_vfs>?) -> EncryptedVFS {
        Unmanaged<EncryptedVFS>.fromOpaque(vfs!.pointee.pAppData).takeUnretainedValue()
    }
}

/// What kind of file SQLite opened, by its open flags.
enum EncryptedFileKind {
    case database, log, emptyDatabaseJournal
}

private let encryptedOpen:
    @convention(c) (
        UnsafeMutablePointer<sqlite3_vfs>?, sqlite3_filename?, UnsafeMutablePointer<sqlite3_file>?, Int32, UnsafeMutablePointer<Int32>?
    ) -> Int32 = { vfsPointer, name, file, flags, outFlags in
        guard let file else { return SQLITE_MISUSE }
        let vfs = EncryptedVFS.from(vfsPointer)
        file.pointee.pMethods = nil
        let kind: EncryptedFileKind
        if flags & SQLITE_OPEN_MAIN_DB != 0 {
            kind = .database
        } else if flags & SQLITE_OPEN_WAL != 0 {
            kind = .log
        } else if flags & SQLITE_OPEN_MAIN_JOURNAL != 0, let name, EncryptedFile.databaseIsEmpty(journal: String(cString: name)) {
            kind = .emptyDatabaseJournal
        } else {
            EncryptedVFS.logger.error("an encrypted replica refused to open a temporary or journal file: it would hold pages in the clear", metadata: ["flags": "\(flags)"])
            return SQLITE_CANTOPEN
        }
        let inner = EncryptedFile.inner(file)
        let result = vfs.base.pointee.xOpen(vfs.base, name, inner, flags, outFlags)
        guard result == SQLITE_OK else {
            if inner.pointee.pMethods != nil { _ = inner.pointee.pMethods.pointee.xClose(inner) }
            return result
        }
        let label = name.map { URL(fileURLWithPath: String(cString: $0)).lastPathComponent } ?? "?"
        EncryptedFile.attach(EncryptedFile(kind: kind, vfs: vfs, label: label), to: file)
        return SQLITE_OK
    }
