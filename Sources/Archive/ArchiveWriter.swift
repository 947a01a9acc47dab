import Foundation
import GRDB
import Logging
import Metrics
import NIOPosix
import PostgresNIO
import Replica
import ServiceLifecycle

/// `serve --archive postgres://…`: streams what central merges into the hospital group's
/// PostgreSQL archive, beside sync and never in its way.
///
/// It runs as its own service with its own reads: merges never wait for it. It wakes on each
/// commit (or every few seconds), reads the rows the commits after its marks touched (pages of
/// whole commits), writes each page with its marks in one transaction, and goes on. The marks
/// live in the archive itself, per hospital and origin: a restart, a second start after a crash
/// between write and commit, or a page written twice leave the same rows. While PostgreSQL is
/// unreachable it retries with back-off, and catches up when it is back.
public struct ArchiveWriter: Service {
    public let replica: Replica
    public let target: ArchiveTarget
    public let hospital: String
    /// The cluster's public key (hex): a hospital name belongs to one cluster in the archive.
    public let clusterKey: String
    public var maxRowsPerPage: Int
    public let logger: Logger
    /// Called after each page is committed (benchmarks time the archive with it).
    public var onArchived: @Sendable (ArchivePage) -> Void = { _ in }

    /// A hospital name in the archive: letters, digits, `-`, `_` and `.`, at most 64.
    public static func validHospital(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    /// Throws unless `name` is a valid hospital name (``validHospital(_:)``).
    static func checkHospital(_ name: String) throws(ArchiveError) {
        guard validHospital(name) else { throw ArchiveError(.badTarget, "the hospital's archive name must be 1–64 letters, digits, '-', '_' or '.'") }
    }

    public init(replica: Replica, target: ArchiveTarget, hospital: String, clusterKey: String, maxRowsPerPage: Int = 5_000, logger: Logger) throws(ArchiveError) {
        try Self.checkHospital(hospital)
        _ = try ArchiveSchema(policies: replica.policies)
        self.replica = replica
        self.target = target
        self.hospital = hospital
        self.clusterKey = clusterKey
        self.maxRowsPerPage = maxRowsPerPage
        self.logger = logger
    }

    public func run() async throws {
        let schema = try ArchiveSchema(policies: replica.policies)
        let events = replica.events()
        let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await _ in events { wake.yield() }
                        wake.finish()
                    }
                    // Every few seconds too: commits made by another process on the file wake nobody.
                    group.addTask {
                        while !Task.isCancelled {
                            try await Task.sleep(for: .seconds(5))
                            wake.yield()
                        }
                    }
                    group.addTask { try await Self.withOwnThreads { try await self.archiveUntilCancelled(schema: schema, wakeups: wakeups, threads: $0) } }
                    try await group.next()
                    group.cancelAll()
                }
            }
        } catch is CancellationError {
            return
        }
    }

    private func archiveUntilCancelled(schema: ArchiveSchema, wakeups: AsyncStream<Void>, threads: NIOThreadPool) async throws {
        var wakeups = wakeups.makeAsyncIterator()
        var delay = 0.5
        var reachable: Bool?
        while !Task.isCancelled {
            do {
                let archive = try await PostgresArchive.open(target: target, schema: schema, hospital: hospital, clusterKey: clusterKey, logger: quiet)
                defer { Task { await archive.close() } }
                var marks = try await archive.marks()
                if reachable == nil {
                    logger.info("archiving to PostgreSQL", metadata: ["archive.target": "\(target)", "archive.hospital": "\(hospital)"])
                }
                // The next page is turned into COPY text, and the one after it read, while this
                // one is written (``prepareAhead(_:schema:threads:)``).
                var next: Task<PageAhead, any Error>?
                defer { next?.cancel() }
                while !Task.isCancelled {
                    let ahead = try await (next ?? prepareAhead(readPage(after: marks, threads: threads), schema: schema, threads: threads)).value
                    let prepared = ahead.prepared, page = prepared.page
                    next = nil
                    guard let following = ahead.following else {
                        guard await wakeups.next() != nil else { return }
                        continue
                    }
                    next = prepareAhead(following, schema: schema, threads: threads)
                    // A connection the server ended while idle: a query on it would never answer.
                    if archive.isClosed { throw ArchiveError(.database, "the server closed the connection") }
                    let coerced = try await Self.withDeadline(.seconds(30), closing: archive) { try await archive.write(prepared) }
                    marks = page.marks
                    // Back once a page went in (a connection that then fails a write is no recovery).
                    if reachable == false { logger.info("archive writes again: catching up", metadata: ["archive.target": "\(target)"]) }
                    reachable = true
                    delay = 0.5
                    Counter(label: "suifang_archive_rows_total").increment(by: Int64(page.rowCount))
                    if coerced > 0 {
                        logger.warning("archived values that did not fit their column's type as NULL", metadata: ["archive.values": "\(coerced)"])
                    }
                    onArchived(page)
                }
            } catch let error as ArchiveError where error.code == .hospitalClash || error.code == .badSchema || error.code == .untrustedSchema {
                logger.critical("archive stopped", metadata: ["archive.error": "\(error.message)"])
                return
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                Counter(label: "suifang_archive_errors_total").increment()
                if let sqlState = Self.refusal(error) {
                    // Not an outage: retrying the same page gets the same answer until someone
                    // acts, so every refusal is logged, and retried less often.
                    logger.error(
                        "the archive refused a page: it is retried, but needs an administrator (after an upgrade: suifang archive setup)",
                        metadata: ["archive.target": "\(target)", "archive.sqlstate": "\(sqlState)"])
                    reachable = false
                    try? await Task.sleep(for: .seconds(Double.random(in: 10...20)))
                    continue
                }
                if reachable != false {
                    // PostgreSQL's errors name statements and constraints, not values; the
                    // type of the error is enough for the log.
                    logger.warning(
                        "archive unreachable or refused a write: retrying",
                        metadata: ["archive.target": "\(target)", "archive.error": "\(Self.summary(error))"])
                }
                reachable = false
            }
            try? await Task.sleep(for: .seconds(delay * Double.random(in: 0.5...1.5)))
            delay = min(delay * 2, 30)
        }
    }

    /// Runs `body` against `archive`; past `deadline` closes the connection (which fails what
    /// waits on it) and throws. A connection the server dropped mid-`COPY` must not hold the
    /// archive forever.
    private static func withDeadline<T: Sendable>(
        _ deadline: Duration, closing archive: PostgresArchive, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: deadline)
                await archive.close()
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw ArchiveError(.database, "a write took longer than \(deadline): the connection was closed")
            }
            return value
        }
    }

    /// The SQLSTATE of an error PostgreSQL will give again for the same page (data, integrity,
    /// privilege, schema: classes 22, 23, 42, 0A), nil for connection failures and timeouts.
    static func refusal(_ error: any Error) -> String? {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return nil }
        return ["22", "23", "42", "0A"].contains(String(state.prefix(2))) ? state : nil
    }

    private static func summary(_ error: any Error) -> String {
        if let error = error as? ArchiveError { return error.message }
        if let error = error as? PSQLError { return "\(error.code)" + (error.serverInfo?[.sqlState].map { " sqlstate \($0)" } ?? "") }
        return "\(type(of: error))"
    }

    private var quiet: Logger {
        var logger = logger
        logger.logLevel = .error
        return logger
    }
}

extension ArchiveWriter {
    /// Archives everything the archive lacks now, page by page, and returns the rows written
    /// (benchmarks; `serve --archive` runs ``run()``).
    public func archiveAll() async throws -> Int {
        try await Self.withOwnThreads { try await archiveAll(threads: $0) }
    }

    private func archiveAll(threads: NIOThreadPool) async throws -> Int {
        let schema = try ArchiveSchema(policies: replica.policies)
        let archive = try await PostgresArchive.open(target: target, schema: schema, hospital: hospital, clusterKey: clusterKey, logger: quiet)
        defer { Task { await archive.close() } }
        var marks = try await archive.marks()
        var rows = 0
        var next = prepareAhead(readPage(after: marks, threads: threads), schema: schema, threads: threads)
        defer { next.cancel() }
        while true {
            let ahead = try await next.value
            let prepared = ahead.prepared, page = prepared.page
            guard let following = ahead.following else { return rows }
            next = prepareAhead(following, schema: schema, threads: threads)
            try await archive.write(prepared)
            marks = page.marks
            rows += page.rowCount
            onArchived(page)
        }
    }

    /// A page turned into COPY text, and the read of the page after it, already started (`nil`
    /// when the page is empty: nothing follows it yet).
    struct PageAhead: Sendable {
        let prepared: PreparedPage
        let following: Task<ArchivePage, any Error>?
    }

    /// Runs `body` with two threads of the archive's own for the stages that block (reading a page,
    /// building its COPY text). On NIO's shared pool, a catch-up kept both of its threads busy, and
    /// everything else that blocks on it (kiosk token checks, the replica's chores) waited behind
    /// page reads.
    static func withOwnThreads<T: Sendable>(_ body: (NIOThreadPool) async throws -> T) async throws -> T {
        let threads = NIOThreadPool(numberOfThreads: 2)
        threads.start()
        do {
            let value = try await body(threads)
            try? await threads.shutdownGracefully()
            return value
        } catch {
            try? await threads.shutdownGracefully()
            throw error
        }
    }

    /// Once `read` has its page, starts reading the page after it and turns this one into COPY
    /// text meanwhile, each on `threads` (both block). Writing page k, preparing k + 1 and
    /// reading k + 2 then overlap, on three threads; the caller starts the next stage only after it
    /// took this one, so at most those three pages are in memory.
    private func prepareAhead(_ read: Task<ArchivePage, any Error>, schema: ArchiveSchema, threads: NIOThreadPool) -> Task<PageAhead, any Error> {
        let hospital = hospital
        return Task {
            let page = try await read.value
            try Task.checkCancellation()  // a stage dropped (the connection failed) reads nothing more
            let following = page.isEmpty ? nil : readPage(after: page.marks, resume: page.resume, threads: threads)
            let prepared = try await threads.runIfActive { PreparedPage(page, schema: schema, hospital: hospital) }
            return PageAhead(prepared: prepared, following: following)
        }
    }

    /// Reads the page after `marks` on `threads` (the read blocks).
    private func readPage(after marks: VersionVector, resume: ArchiveCursor? = nil, threads: NIOThreadPool) -> Task<ArchivePage, any Error> {
        let replica = replica, limit = maxRowsPerPage
        return Task {
            try await threads.runIfActive { try replica.archivePage(after: marks, resume: resume, maxRows: limit) }
        }
    }

    /// The baseline of `bench archive`: every row of `table` as the archive would write it, by
    /// one plain `COPY` into a table of the archive table's shape (its primary key included),
    /// timed alone (reading and encoding the rows are not). Returns the rows and the time.
    public func timePlainCopy(of table: String) async throws -> (rows: Int, duration: Duration) {
        let schema = try ArchiveSchema(policies: replica.policies)
        guard let archiveTable = schema.tables.first(where: { $0.declaration.name == table }) else { throw ArchiveError(.badSchema, "no table '\(table)'") }
        let declared = archiveTable.declaration
        let columns = ([declared.primaryKey] + archiveTable.columns.map { declared.columns[$0.index].name }).map(\.quotedDatabaseIdentifier)
        let types = archiveTable.columns.map(\.declared)
        let text = try await replica.read { db in
            var text = CopyText()
            let cursor = try Row.fetchCursor(db, sql: "SELECT \(columns.joined(separator: ", ")) FROM \(table.quotedDatabaseIdentifier)")
            while let row = try cursor.next() {
                var fields: [(value: DatabaseValue, type: ColumnType)] = [(row[0] as DatabaseValue, .text)]
                for (index, type) in types.enumerated() { fields.append((row[index + 1] as DatabaseValue, type)) }
                fields += [(hospital.databaseValue, .text), ("0000000000000000".databaseValue, .text), (1.databaseValue, .integer), (1.databaseValue, .integer)]
                text.appendRow(fields)
            }
            return text
        }
        let rows = text.bytes.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        let archive = try await PostgresArchive.open(target: target, schema: schema, hospital: hospital, clusterKey: clusterKey, logger: quiet)
        defer { Task { await archive.close() } }
        return (rows, try await archive.timePlainCopy(text.bytes, like: archiveTable))
    }
}
