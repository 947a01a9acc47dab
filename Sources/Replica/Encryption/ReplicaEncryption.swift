import Foundation
import GRDB
import GRDBSQLite
import Sodium

/// Encryption at rest for a replica's files: the data key, and how a connection opens the file
/// through ``EncryptedVFS``. Give it in ``ReplicaConfiguration/encryption``; tools that read a
/// replica file directly open it through ``ReplicaFile``.
///
/// Every page of the database and of its write-ahead log is sealed with XChaCha20-Poly1305 under
/// the data key, with a fresh random nonce per write; nonce and tag take the last 40 bytes of each
/// page, which SQLite reserves (`SQLITE_FCNTL_RESERVE_BYTES`, set before the file's first write).
/// A page that fails authentication is refused with `SQLITE_IOERR_DATA`, never read.
public struct ReplicaEncryption: Sendable {
    /// Bytes per page of an encrypted replica (SQLite's default).
    public static let pageSize = 4096
    let vfs: EncryptedVFS

    /// - Parameter dataKey: 32 bytes (``Sodium/PageCipher/keyBytes``); the caller unwraps it and
    ///   wipes its copy.
    /// - Throws: ``ReplicaError`` when SQLite refuses the VFS, a Sodium error for a bad key.
    public init(dataKey: [UInt8]) throws {
        vfs = try EncryptedVFS.forKey(dataKey, pageSize: Self.pageSize)
    }

    /// The name SQLite opens `path` with: a `file:` URI naming the encrypting VFS.
    func uri(for path: String) -> String {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let escaped = absolute.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "?#"))) ?? absolute
        return "file:\(escaped)?vfs=\(vfs.name)"
    }

    /// What every connection to an encrypted replica runs first: pages keep their 40 reserved bytes
    /// (effective only before the file's first write, and checked by the VFS on every write of
    /// page 1), and temporary data stays in memory (the VFS refuses temporary files).
    func prepare(_ db: Database) throws {
        var reserved = Int32(PageCipher.reservedBytes)
        let result = sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserved)
        guard result == SQLITE_OK else { throw ReplicaError(.unsupportedSetting, "SQLite refused to reserve bytes for page encryption (code \(result))") }
        try db.execute(sql: "PRAGMA temp_store = MEMORY")
    }

    /// The pages the encrypted file layer refused most recently in this process, oldest first
    /// (file name and place, no data).
    public static var recentRefusals: [String] { EncryptedVFS.recentFailures }
}

/// A replica's file as a tool opens it directly (status, testnet checks): its path and, when it
/// is encrypted, the key.
public struct ReplicaFile: Sendable {
    public let path: String
    public let encryption: ReplicaEncryption?

    public init(path: String, encryption: ReplicaEncryption?) {
        self.path = path
        self.encryption = encryption
    }

    /// What SQLite is given to open the file.
    public var openingPath: String { encryption?.uri(for: path) ?? path }

    /// `configuration` with the encrypted file's connection set-up added.
    public func configured(_ configuration: Configuration) -> Configuration {
        guard let encryption else { return configuration }
        var configuration = configuration
        configuration.prepareDatabase { db in try encryption.prepare(db) }
        return configuration
    }

    /// A queue on the file (read-only when `configuration` says so).
    public func queue(_ configuration: Configuration = Configuration()) throws -> DatabaseQueue {
        try DatabaseQueue(path: openingPath, configuration: configured(configuration))
    }
}
