/// Where the encrypted pages of a replica's files lie, and what each read or write of SQLite's
/// touches: the encrypting file layer asks this, so the offset arithmetic lives in one place
/// and is tested on its own.
///
/// - The database file is an array of pages; every page is encrypted whole, page 1 (with
///   SQLite's header) included.
/// - The write-ahead log is a 32-byte header, then frames of a 24-byte frame header and one page.
///   Headers hold page numbers, sizes, salts and checksums (no row data) and stay in the clear;
///   each frame's page is encrypted.
struct PageLayout {
    /// Bytes per page (the replica's `page_size`).
    let pageSize: Int

    static let walHeaderBytes = 32
    static let walFrameHeaderBytes = 24

    var walFrameBytes: Int { pageSize + Self.walFrameHeaderBytes }

    /// How a database-file access maps onto pages.
    enum DatabaseAccess: Equatable {
        /// Exactly one whole page (`number` from 1).
        case page(number: UInt64)
        /// Part of one page: bytes `start..<start+count` of page `number`.
        case partOfPage(number: UInt64, start: Int)
        /// Crosses a page boundary or is misaligned: never made by SQLite's pager.
        case unsupported
    }

    func databaseAccess(offset: Int64, count: Int) -> DatabaseAccess {
        guard offset >= 0, count > 0 else { return .unsupported }
        let number = UInt64(offset / Int64(pageSize)) + 1
        let start = Int(offset % Int64(pageSize))
        if start == 0 && count == pageSize { return .page(number: number) }
        return start + count <= pageSize ? .partOfPage(number: number, start: start) : .unsupported
    }

    /// How a write-ahead-log access maps onto headers and frame pages.
    enum LogAccess: Equatable {
        /// Only header bytes (the log's or a frame's): passed through as they are.
        case headers
        /// Exactly one frame's page, at `offset`.
        case page(offset: Int64)
        /// One whole frame: its header, then its page at `pageOffset`.
        case frame(pageOffset: Int64)
        /// Part of a page, or across frames: never made by SQLite's log.
        case unsupported
    }

    func logAccess(offset: Int64, count: Int) -> LogAccess {
        guard offset >= 0, count > 0 else { return .unsupported }
        let header = Int64(Self.walHeaderBytes)
        if offset < header { return offset + Int64(count) <= header ? .headers : .unsupported }
        let within = Int((offset - header) % Int64(walFrameBytes))
        if within == Self.walFrameHeaderBytes && count == pageSize { return .page(offset: offset) }
        if within == 0 && count == walFrameBytes { return .frame(pageOffset: offset + Int64(Self.walFrameHeaderBytes)) }
        if within + count <= Self.walFrameHeaderBytes { return .headers }
        return .unsupported
    }

    /// Whether a plaintext page 1 declares this layout: SQLite's page size (bytes 16–17,
    /// big-endian, 1 meaning 65,536) and at least `reserved` reserved bytes per page (byte 20).
    func headerMatches(_ page: UnsafeRawPointer, reserved: Int) -> Bool {
        let declared = Int(page.load(fromByteOffset: 16, as: UInt8.self)) << 8 | Int(page.load(fromByteOffset: 17, as: UInt8.self))
        let size = declared == 1 ? 65_536 : declared
        return size == pageSize && Int(page.load(fromByteOffset: 20, as: UInt8.self)) >= reserved
    }
}
