import Foundation
import GRDBSQLite
import Logging
import Sodium
import Synchronization

/// One file SQLite opened through ``EncryptedVFS``: the wrapped file of the default VFS sits
/// after a 16-byte header (our methods, then this object), and reads and writes of pages pass
/// through ``PageCipher`` on the way.
///
/// SQLite uses a file from one connection at a time, so the scratch page needs no lock.
final class EncryptedFile {
    let kind: EncryptedFileKind
    let vfs: EncryptedVFS
    /// The file's name (never a path's directories, never data), for errors.
    let label: String
    private let scratch: UnsafeMutableRawPointer

    /// Page contexts: which file the page is in.
    static let databaseDomain: UInt8 = 1
    static let logDomain: UInt8 = 2

    init(kind: EncryptedFileKind, vfs: EncryptedVFS, label: String) {
        self.kind = kind
        self.vfs = vfs
        self.label = label
        scratch = .allocate(byteCount: vfs.layout.pageSize, alignment: 16)
    }

    deinit {
        memset(scratch, 0, vfs.layout.pageSize)
        scratch.deallocate()
    }

    // MARK: Layout inside SQLite's allocation

    static func inner(_ file: UnsafeMutablePointer<sqlite3_file>) -> UnsafeMutablePointer<sqlite3_file> {
        (UnsafeMutableRawPointer(file) + EncryptedVFS.fileHeaderBytes).assumingMemoryBound(to: sqlite3_file.self)
    }

    static func attach(_ state: EncryptedFile, to file: UnsafeMutablePointer<sqlite3_file>) {
        (UnsafeMutableRawPointer(file) + 8).storeBytes(of: Unmanaged.passRetained(state).toOpaque(), as: UnsafeMutableRawPointer.self)
        file.pointee.pMethods = UnsafePointer(encryptedMethods)
    }

    static func state(_ file: UnsafeMutablePointer<sqlite3_file>) -> EncryptedFile {
        Unmanaged<EncryptedFile>.fromOpaque((UnsafeMutableRawPointer(file) + 8).load(as: UnsafeMutableRawPointer.self)).takeUnretainedValue()
    }

    static func detach(_ file: UnsafeMutablePointer<sqlite3_file>) {
        Unmanaged<EncryptedFile>.fromOpaque((UnsafeMutableRawPointer(file) + 8).load(as: UnsafeMutableRawPointer.self)).release()
    }

    /// Whether the database a rollback journal belongs to is still empty (a new replica).
    static func databaseIsEmpty(journal: String) -> Bool {
        guard journal.hasSuffix("-journal") else { return false }
        let database = String(journal.dropLast("-journal".count))
        var info = stat()
        guard stat(database, &info) == 0 else { return false }
        return info.st_size == 0
    }

    // MARK: Reads and writes

    func read(_ file: UnsafeMutablePointer<sqlite3_file>, into buffer: UnsafeMutableRawPointer, count: Int, offset: Int64) -> Int32 {
        let inner = Self.inner(file)
        let innerRead = inner.pointee.pMethods.pointee.xRead!
        let pageSize = vfs.layout.pageSize
        switch kind {
        case .emptyDatabaseJournal:
            return innerRead(inner, buffer, Int32(count), offset)
        case .database:
            switch vfs.layout.databaseAccess(offset: offset, count: count) {
            case .page(let number):
                let result = innerRead(inner, buffer, Int32(count), offset)
                guard result == SQLITE_OK else { return shortRead(result, buffer, count) }
                return open(buffer, context: PageContext(domain: Self.databaseDomain, position: number), what: "page \(number)")
            case .partOfPage(let number, let start):
                let result = innerRead(inner, scratch, Int32(pageSize), Int64(number - 1) * Int64(pageSize))
                guard result == SQLITE_OK else { return shortRead(result, buffer, count) }
                let opened = open(scratch, context: PageContext(domain: Self.databaseDomain, position: number), what: "page \(number)")
                guard opened == SQLITE_OK else { return opened }
                buffer.copyMemory(from: scratch + start, byteCount: count)
                return SQLITE_OK
            case .unsupported:
                return refuse("a read across pages", IOResult.read)
            }
        case .log:
            switch vfs.layout.logAccess(offset: offset, count: count) {
            case .headers:
                return innerRead(inner, buffer, Int32(count), offset)
            case .page(let pageOffset):
                let result = innerRead(inner, buffer, Int32(count), offset)
                guard result == SQLITE_OK else { return shortRead(result, buffer, count) }
                return open(buffer, context: PageContext(domain: Self.logDomain, position: UInt64(pageOffset)), what: "the log's frame at \(pageOffset)")
            case .frame(let pageOffset):
                let result = innerRead(inner, buffer, Int32(count), offset)
                guard result == SQLITE_OK else { return shortRead(result, buffer, count) }
                let page = buffer + PageLayout.walFrameHeaderBytes
                return open(page, context: PageContext(domain: Self.logDomain, position: UInt64(pageOffset)), what: "the log's frame at \(pageOffset)")
            case .unsupported:
                return refuse("a read of part of a log page", IOResult.read)
            }
        }
    }

    func write(_ file: UnsafeMutablePointer<sqlite3_file>, from buffer: UnsafeRawPointer, count: Int, offset: Int64) -> Int32 {
        let inner = Self.inner(file)
        let innerWrite = inner.pointee.pMethods.pointee.xWrite!
        let pageSize = vfs.layout.pageSize
        switch kind {
        case .emptyDatabaseJournal:
            return innerWrite(inner, buffer, Int32(count), offset)
        case .database:
            guard case .page(let number) = vfs.layout.databaseAccess(offset: offset, count: count) else {
                return refuse("a write of part of a page", IOResult.write)
            }
            if number == 1 && !vfs.layout.headerMatches(buffer, reserved: PageCipher.reservedBytes) {
                return refuse("a database header without \(PageCipher.reservedBytes) reserved bytes per \(pageSize)-byte page", IOResult.write)
            }
            vfs.cipher.seal(buffer, into: scratch, pageBytes: pageSize, context: PageContext(domain: Self.databaseDomain, position: number))
            return innerWrite(inner, scratch, Int32(pageSize), offset)
        case .log:
            switch vfs.layout.logAccess(offset: offset, count: count) {
            case .headers:
                return innerWrite(inner, buffer, Int32(count), offset)
            case .page(let pageOffset):
                vfs.cipher.seal(buffer, into: scratch, pageBytes: pageSize, context: PageContext(domain: Self.logDomain, position: UInt64(pageOffset)))
                return innerWrite(inner, scratch, Int32(pageSize), offset)
            case .frame, .unsupported:
                return refuse("a write of part of a log page", IOResult.write)
            }
        }
    }

    /// Opens a page in place; a page that does not authenticate is never handed to SQLite.
    private func open(_ page: UnsafeMutableRawPointer, context: PageContext, what: String) -> Int32 {
        if vfs.cipher.open(page, pageBytes: vfs.layout.pageSize, context: context) { return SQLITE_OK }
        memset(page, 0, vfs.layout.pageSize)
        EncryptedVFS.recordFailure("\(what) of \(label) failed authentication: the file was altered, or it was encrypted under another key")
        return IOResult.data
    }

    /// A read past the end: SQLite expects zeros, never a part of a ciphertext.
    private func shortRead(_ result: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int32 {
        if result == IOResult.shortRead { memset(buffer, 0, count) }
        return result
    }

    private func refuse(_ what: String, _ code: Int32) -> Int32 {
        EncryptedVFS.recordFailure("\(label): \(what) was refused (the encrypted file layer handles whole pages only)")
        return code
    }
}

extension EncryptedVFS {
    private static let failureTexts = Mutex<[String]>([])
    /// How many refusals ``recentFailures`` keeps.
    static let keptFailures = 32

    /// Logs a refused page (no data: the file's name, the page's place) and keeps it for ``recentFailures``.
    static func recordFailure(_ text: String) {
        logger.error("\(text)")
        failureTexts.withLock {
            $0.append(text)
            if $0.count > keptFailures { $0.removeFirst($0.count - keptFailures) }
        }
    }

    /// The pages the encrypted file layer refused most recently, oldest first (of any file).
    static var recentFailures: [String] { failureTexts.withLock { $0 } }
}

private func passThrough(_ file: UnsafeMutablePointer<sqlite3_file>?) -> (UnsafeMutablePointer<sqlite3_file>, sqlite3_io_methods) {
    let inner = EncryptedFile.inner(file!)
    return (inner, inner.pointee.pMethods.pointee)
}

/// The methods of an encrypted file: reads and writes through ``EncryptedFile``, everything else
/// (locks, sync, size, the wal-index) handed to the wrapped file. Version 2: no `xFetch`, so
/// SQLite never memory-maps the ciphertext.
nonisolated(unsafe) private let encryptedMethods: UnsafeMutablePointer<sqlite3_io_methods> = {
    let methods = UnsafeMutablePointer<sqlite3_io_methods>.allocate(capacity: 1)
    methods.initialize(
        to: sqlite3_io_methods(
            iVersion: 2,
            xClose: { file in
                let (inner, methods) = passThrough(file)
                let result = methods.xClose(inner)
                EncryptedFile.detach(file!)
                return result
            },
            xRead: { file, buffer, count, offset in
                EncryptedFile.state(file!).read(file!, into: buffer!, count: Int(count), offset: offset)
            },
            xWrite: { file, buffer, count, offset in
                EncryptedFile.state(file!).write(file!, from: buffer!, count: Int(count), offset: offset)
            },
            xTruncate: { file, size in
                let (inner, methods) = passThrough(file)
                return methods.xTruncate(inner, size)
            },
            xSync: { file, flags in
                let (inner, methods) = passThrough(file)
                return methods.xSync(inner, flags)
            },
            xFileSize: { file, size in
                let (inner, methods) = passThrough(file)
                return methods.xFileSize(inner, size)
            },
            xLock: { file, level in
                let (inner, methods) = passThrough(file)
                return methods.xLock(inner, level)
            },
            xUnlock: { file, level in
                let (inner, methods) = passThrough(file)
                return methods.xUnlock(inner, level)
            },
            xCheckReservedLock: { file, out in
                let (inner, methods) = passThrough(file)
                return methods.xCheckReservedLock(inner, out)
            },
            xFileControl: { file, operation, argument in
                let (inner, methods) = passThrough(file)
                return methods.xFileControl(inner, operation, argument)
            },
            xSectorSize: { file in
                let (inner, methods) = passThrough(file)
                return methods.xSectorSize(inner)
            },
            xDeviceCharacteristics: { file in
                let (inner, methods) = passThrough(file)
                return methods.xDeviceCharacteristics(inner)
            },
            xShmMap: { file, region, size, extend, pointer in
                let (inner, methods) = passThrough(file)
                return methods.xShmMap(inner, region, size, extend, pointer)
            },
            xShmLock: { file, offset, count, flags in
                let (inner, methods) = passThrough(file)
                return methods.xShmLock(inner, offset, count, flags)
            },
            xShmBarrier: { file in
                let (inner, methods) = passThrough(file)
                methods.xShmBarrier(inner)
            },
            xShmUnmap: { file, delete in
                let (inner, methods) = passThrough(file)
                return methods.xShmUnmap(inner, delete)
            },
            xFetch: nil,
            xUnfetch: nil))
    return methods
}()

/// SQLite's extended I/O result codes (C macros Swift does not import).
enum IOResult {
    static let read = SQLITE_IOERR | (1 << 8)
    static let shortRead = SQLITE_IOERR | (2 << 8)
    static let write = SQLITE_IOERR | (3 << 8)
    /// "used by checksum VFS shims to indicate that the page read has a bad checksum".
    static let data = SQLITE_IOERR | (32 << 8)
}
