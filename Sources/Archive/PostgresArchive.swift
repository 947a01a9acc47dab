import GRDB
import Logging
import NIOCore
import PostgresNIO
import Replica

/// One connection to the archive database, owned here: finds (or, for the archive's owner,
/// sets up) this hospital's partitions, reads its high-water marks, and writes pages, each in
/// one transaction with the marks it reaches (so a page is archived whole or not at all, and a
/// restart resumes exactly).
final class PostgresArchive: Sendable {
    private let connection: PostgresConnection
    private let schema: ArchiveSchema
    private let registration: ArchiveRegistration
    private let logger: Logger

    private var hospital: String { registration.hospital }

    private init(connection: PostgresConnection, schema: ArchiveSchema, registration: ArchiveRegistration, logger: Logger) {
        self.connection = connection
        self.schema = schema
        self.registration = registration
        self.logger = logger
    }

    /// Connects and finds `hospital`'s partitions. The archive's owner (a single hospital, a
    /// trial) sets up what is missing and registers the hospital for itself; any other role must
    /// have been registered for the hospital by the archive's administrator (`suifang archive
    /// setup`), claims it (binding it to this cluster the first time), and changes no schema.
    /// - Throws: ``ArchiveError`` `hospitalClash` when the hospital is another role's or
    ///   another cluster's; `notRegistered` when this role may neither set it up nor write it.
    static func open(target: ArchiveTarget, schema: ArchiveSchema, hospital: String, clusterKey: String, logger: Logger) async throws -> PostgresArchive {
        let connection = try await PostgresConnection.connect(configuration: try target.configuration(), id: 1, logger: logger)
        do {
            try await ArchiveSession.configure(connection, logger: logger)
            let session = ArchiveSession(connection: connection, schema: schema, logger: logger)
            let role = try await session.currentRole()
            let registration: ArchiveRegistration
            if try await session.ownsArchive() {
                registration = try await session.register(hospital: hospital, role: role, clusterKey: clusterKey)
            } else {
                registration = try await session.claim(hospital: hospital, clusterKey: clusterKey, role: role)
            }
            return PostgresArchive(connection: connection, schema: schema, registration: registration, logger: logger)
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// This hospital's high-water marks: per origin, the last commit whose rows are archived.
    func marks() async throws -> VersionVector {
        var entries: [NodeID: UInt64] = [:]
        let rows = try await connection.query("SELECT origin, seq FROM \(unescaped: marksTable) WHERE hospital = \(hospital)", logger: logger)
        for try await (origin, seq) in rows.decode((String, Int64).self) {
            guard let id = NodeID(hex: origin), seq >= 0 else { continue }
            entries[id] = UInt64(seq)
        }
        return VersionVector(entries)
    }

    /// Writes `prepared` and its marks in one transaction: rows by `COPY`, those the archive may
    /// hold already through a staging table and an insert-or-replace; gone rows deleted.
    ///
    /// Rows the page created go straight in by `COPY`, unprobed (an archive up to the page's
    /// starting marks cannot hold them). Should one be there all the same (another origin created
    /// the same key, or the marks were reset), PostgreSQL refuses the duplicate key, the
    /// transaction rolls back, and the page is written again with every row probed.
    /// - Returns: values archived as NULL because they did not fit their column's type.
    @discardableResult
    func write(_ prepared: PreparedPage) async throws -> Int {
        do {
            return try await write(prepared, trustCreated: true)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            logger.debug("a row the page created was archived already; the page is written again, every row probed")
            return try await write(prepared, trustCreated: false)
        }
    }

    private func write(_ prepared: PreparedPage, trustCreated: Bool) async throws -> Int {
        var coerced = 0
        try await transaction {
            for (index, (declaration, rows)) in prepared.page.tables.enumerated() {
                guard let table = self.schema.table(named: declaration.name) else { continue }
                let partition = self.registration.partition(of: table)
                let present = rows.filter { $0.values != nil && !(trustCreated && $0.isNew) }
                var copied = trustCreated ? prepared.created[index] : CopyText()
                coerced += try await self.upsert(present, into: table, partition: partition, stage: "_sf_stage_\(index)", copying: &copied)
                if !copied.bytes.isEmpty {
                    coerced += copied.coerced
                    try await self.copy(copied.bytes, into: ArchiveSchema.name, partition, columns: table.copyColumns)
                }
                let gone = rows.filter { $0.values == nil }.map(\.key)
                if !gone.isEmpty {
                    try await self.connection.query(
                        "DELETE FROM \(unescaped: qualified(partition)) WHERE _hospital = \(self.hospital) AND \(unescaped: quoted(table.key)) = ANY(\(gone))",
                        logger: self.logger
                    ).consume()
                }
            }
            let marks = prepared.page.marks.sorted
            try await self.connection.query(
                """
                INSERT INTO \(unescaped: self.marksTable) (hospital, origin, seq)
                SELECT \(self.hospital), origin, seq FROM unnest(\(marks.map(\.origin.description))::text[], \(marks.map { Int64(clamping: $0.seq) })::bigint[]) AS m(origin, seq)
                ON CONFLICT (hospital, origin) DO UPDATE SET seq = EXCLUDED.seq, archived_at = now()
                """, logger: self.logger
            ).consume()
        }
        return coerced
    }

    /// Rows the archive does not hold go by `COPY` straight into the table (added to `copying`,
    /// which the caller copies); rows it holds already go through a staging table and an
    /// insert-or-replace. Which is which is asked first (one index probe per row): one writer
    /// per hospital, so nobody adds them in between (if anyone did, the COPY fails, the
    /// transaction rolls back, and the page is written again).
    /// - Returns: values of the staged rows archived as NULL.
    private func upsert(_ rows: [ArchivePage.Row], into table: ArchiveTable, partition: String, stage: String, copying: inout CopyText) async throws -> Int {
        guard !rows.isEmpty else { return 0 }
        var held: Set<String> = []
        let probe = try await connection.query(
            "SELECT \(unescaped: quoted(table.key)) FROM \(unescaped: qualified(partition)) WHERE _hospital = \(hospital) AND \(unescaped: quoted(table.key)) = ANY(\(rows.map(\.key)))",
            logger: logger)
        for try await key in probe.decode(String.self) { held.insert(key) }
        copying.append(contentsOf: CopyText(rows: rows.filter { !held.contains($0.key) }, of: table, hospital: hospital))
        let known = rows.filter { held.contains($0.key) }
        guard !known.isEmpty else { return 0 }
        try await run(PostgresQuery(unsafeSQL: "CREATE TEMP TABLE \(stage) (LIKE \(qualified(partition)) INCLUDING DEFAULTS) ON COMMIT DROP"))
        let text = CopyText(rows: known, of: table, hospital: hospital)
        try await copy(text.bytes, into: "pg_temp", stage, columns: table.copyColumns)
        let columns = table.copyColumns.map(quoted)
        let updates = table.copyColumns.filter { $0 != table.key && $0 != "_hospital" }.map { "\(quoted($0)) = EXCLUDED.\(quoted($0))" }
        let list = columns.joined(separator: ", ")
        try await run(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(qualified(partition)) (\(list)) SELECT \(list) FROM pg_temp.\(stage)
                    ON CONFLICT (_hospital, \(quoted(table.key))) DO UPDATE SET \(updates.joined(separator: ", ")), _archived_at = now()
                    """))
        return text.coerced
    }

    /// Copies COPY text into a fresh table shaped like `table` (primary key included) and
    /// returns the time the COPY took (the `bench archive` baseline).
    func timePlainCopy(_ bytes: [UInt8], like table: ArchiveTable) async throws -> Duration {
        try await run("DROP TABLE IF EXISTS suifang.suifang_bench_copy")
        try await run(PostgresQuery(unsafeSQL: "CREATE TABLE suifang.suifang_bench_copy (LIKE \(table.qualified) INCLUDING ALL)"))
        let started = ContinuousClock.now
        try await transaction {
            try await self.copy(bytes, into: ArchiveSchema.name, "suifang_bench_copy", columns: table.copyColumns)
        }
        let elapsed = ContinuousClock.now - started
        try await run("DROP TABLE suifang.suifang_bench_copy")
        return elapsed
    }

    /// `COPY schema.table (columns) FROM STDIN` of text-format rows, in chunks of 1 MiB (a page
    /// can be large). The table is always named with its schema, so that no table of the same
    /// name elsewhere on the search path is written instead.
    ///
    /// PostgresNIO's `copyFrom` puts the name it is given between double quotes as one
    /// identifier; `schema"."table` makes that the qualified `"schema"."table"`. Both parts are
    /// our own names (the schema's, or a partition's from the policies' plain identifiers),
    /// never a peer's or a user's text.
    private func copy(_ bytes: [UInt8], into schema: String, _ table: String, columns: [String]) async throws {
        try await connection.copyFrom(table: "\(schema)\".\"\(table)", columns: columns, logger: logger) { writer in
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + (1 << 20), bytes.count)
                try await writer.write(ByteBuffer(bytes: bytes[offset..<end]))
                offset = end
            }
        }
    }

    private func transaction(_ body: () async throws -> Void) async throws {
        try await connection.transaction(logger: logger, body)
    }

    private func run(_ query: PostgresQuery) async throws {
        try await connection.run(query, logger: logger)
    }

    private var marksTable: String { qualified(registration.marks) }

    private func qualified(_ table: String) -> String { "\(ArchiveSchema.name).\(quoted(table))" }

    /// Whether the connection ended (the server restarted or dropped it).
    var isClosed: Bool { connection.isClosed }

    func close() async {
        try? await connection.close()
    }
}
