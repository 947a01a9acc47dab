import GRDB
import Logging
import NIOCore
import PostgresNIO
import Replica

/// One connection to the archive database, owned here: sets the schema up, reads this
/// hospital's high-water marks, and writes pages, each in one transaction with the marks it
/// reaches (so a page is archived whole or not at all, and a restart resumes exactly).
final class PostgresArchive: Sendable {
    private let connection: PostgresConnection
    private let schema: ArchiveSchema
    private let hospital: String
    private let logger: Logger

    private init(connection: PostgresConnection, schema: ArchiveSchema, hospital: String, logger: Logger) {
        self.connection = connection
        self.schema = schema
        self.hospital = hospital
        self.logger = logger
    }

    /// Connects, creates what is missing (under an advisory lock: several centrals start at
    /// once), checks that `hospital` is this cluster's, and returns the archive.
    /// - Throws: ``ArchiveError`` `hospitalClash` when another cluster archives under the name.
    static func open(target: ArchiveTarget, schema: ArchiveSchema, hospital: String, clusterKey: String, logger: Logger) async throws -> PostgresArchive {
        let connection = try await PostgresConnection.connect(configuration: try target.configuration(), id: 1, logger: logger)
        let archive = PostgresArchive(connection: connection, schema: schema, hospital: hospital, logger: logger)
        do {
            try await archive.prepare(clusterKey: clusterKey)
        } catch {
            try? await connection.close()
            throw error
        }
        return archive
    }

    private func prepare(clusterKey: String) async throws {
        // COPY names its table unqualified (PostgresNIO quotes the name whole): the archive's
        // schema comes first for this connection (temporary tables are found before it anyway).
        try await run("SET search_path = suifang, public")
        // A long report holding a lock must not stall the archive silently, nor the archive's
        // queued lock stall every reader behind it.
        try await run("SET lock_timeout = '10s'")
        try await run("SET statement_timeout = '60s'")
        try await transaction {
            try await self.run("SELECT pg_advisory_xact_lock(7382015)")
            for statement in self.schema.creation { try await self.run(PostgresQuery(unsafeSQL: statement)) }
            // The views read the hospital's tables; policies without them (a benchmark's) get none.
            for statement in GroupViews.statements {
                try await self.run("SAVEPOINT group_view")
                do {
                    try await self.run(PostgresQuery(unsafeSQL: statement))
                } catch {
                    try await self.run("ROLLBACK TO SAVEPOINT group_view")
                }
            }
            try await self.connection.query(
                """
                INSERT INTO suifang._archive_hospital (hospital, cluster_key) VALUES (\(self.hospital), \(clusterKey))
                ON CONFLICT (hospital) DO NOTHING
                """, logger: self.logger
            ).consume()
            let rows = try await self.connection.query("SELECT cluster_key FROM suifang._archive_hospital WHERE hospital = \(self.hospital)", logger: self.logger)
            for try await owner in rows.decode(String.self) where owner != clusterKey {
                throw ArchiveError(
                    .hospitalClash,
                    "the archive already holds hospital '\(self.hospital)' for another cluster: give this central its own --archive-hospital name")
            }
        }
    }

    /// This hospital's high-water marks: per origin, the last commit whose rows are archived.
    func marks() async throws -> VersionVector {
        var entries: [NodeID: UInt64] = [:]
        let rows = try await connection.query("SELECT origin, seq FROM suifang._archive_mark WHERE hospital = \(hospital)", logger: logger)
        for try await (origin, seq) in rows.decode((String, Int64).self) {
            guard let id = NodeID(hex: origin), seq >= 0 else { continue }
            entries[id] = UInt64(seq)
        }
        return VersionVector(entries)
    }

    /// Writes `page` and its marks in one transaction: rows by `COPY` into a staging table, then
    /// merged into the archive table (insert or replace by hospital and key); gone rows deleted.
    /// - Returns: values archived as NULL because they did not fit their column's type.
    @discardableResult
    func write(_ page: ArchivePage) async throws -> Int {
        var coerced = 0
        try await transaction {
            for (index, (declaration, rows)) in page.tables.enumerated() {
                guard let table = self.schema.tables.first(where: { $0.declaration.name == declaration.name }) else { continue }
                let present = rows.filter { $0.values != nil }
                if !present.isEmpty {
                    coerced += try await self.upsert(present, into: table, stage: "_sf_stage_\(index)")
                }
                let gone = rows.filter { $0.values == nil }.map(\.key)
                if !gone.isEmpty {
                    try await self.connection.query(
                        "DELETE FROM \(unescaped: table.qualified) WHERE _hospital = \(self.hospital) AND \(unescaped: quoted(table.key)) = ANY(\(gone))",
                        logger: self.logger
                    ).consume()
                }
            }
            let marks = page.marks.sorted
            try await self.connection.query(
                """
                INSERT INTO suifang._archive_mark (hospital, origin, seq)
                SELECT \(self.hospital), origin, seq FROM unnest(\(marks.map(\.origin.description))::text[], \(marks.map { Int64(clamping: $0.seq) })::bigint[]) AS m(origin, seq)
                ON CONFLICT (hospital, origin) DO UPDATE SET seq = EXCLUDED.seq
                """, logger: self.logger
            ).consume()
            try await self.connection.query(
                "UPDATE suifang._archive_hospital SET last_archived_at = now() WHERE hospital = \(self.hospital)", logger: self.logger
            ).consume()
        }
        return coerced
    }

    /// Rows new to the archive (most: responses are append-only) go by `COPY` straight into the
    /// table; rows it holds already go through a staging table and an insert-or-replace. Which
    /// is which is asked first (one index probe per row): one writer per hospital, so nobody
    /// adds them in between (if anyone did, the COPY fails, the transaction rolls back, and the
    /// page is written again).
    private func upsert(_ rows: [ArchivePage.Row], into table: ArchiveTable, stage: String) async throws -> Int {
        var held: Set<String> = []
        let probe = try await connection.query(
            "SELECT \(unescaped: quoted(table.key)) FROM \(unescaped: table.qualified) WHERE _hospital = \(hospital) AND \(unescaped: quoted(table.key)) = ANY(\(rows.map(\.key)))",
            logger: logger)
        for try await key in probe.decode(String.self) { held.insert(key) }
        let fresh = rows.filter { !held.contains($0.key) }, known = rows.filter { held.contains($0.key) }
        var coerced = 0
        if !fresh.isEmpty {
            let text = copyText(fresh, table)
            coerced += text.coerced
            try await copy(text.bytes, into: table.name, columns: table.copyColumns)
        }
        guard !known.isEmpty else { return coerced }
        try await run(PostgresQuery(unsafeSQL: "CREATE TEMP TABLE \(stage) (LIKE \(table.qualified) INCLUDING DEFAULTS) ON COMMIT DROP"))
        let text = copyText(known, table)
        coerced += text.coerced
        try await copy(text.bytes, into: stage, columns: table.copyColumns)
        let columns = table.copyColumns.map(quoted)
        let updates = table.copyColumns.filter { $0 != table.key && $0 != "_hospital" }.map { "\(quoted($0)) = EXCLUDED.\(quoted($0))" }
        let list = columns.joined(separator: ", ")
        try await run(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(table.qualified) (\(list)) SELECT \(list) FROM \(stage)
                    ON CONFLICT (_hospital, \(quoted(table.key))) DO UPDATE SET \(updates.joined(separator: ", ")), _archived_at = now()
                    """))
        return coerced
    }

    /// The rows as COPY text in ``ArchiveTable/copyColumns`` order.
    private func copyText(_ rows: [ArchivePage.Row], _ table: ArchiveTable) -> CopyText {
        var text = CopyText()
        for row in rows {
            guard let values = row.values else { continue }
            var fields: [(value: DatabaseValue, type: ColumnType)] = [(row.key.databaseValue, .text)]
            for column in table.columns { fields.append((column.index < values.count ? values[column.index] : .null, column.declared)) }
            fields += [
                (hospital.databaseValue, .text), (row.origin.description.databaseValue, .text),
                (Int64(clamping: row.seq).databaseValue, .integer), (Int64(clamping: row.stampMilliseconds).databaseValue, .integer),
            ]
            text.appendRow(fields)
        }
        return text
    }

    /// Copies COPY text into a fresh table shaped like `table` (primary key included) and
    /// returns the time the COPY took (the `bench archive` baseline).
    func timePlainCopy(_ bytes: [UInt8], like table: ArchiveTable) async throws -> Duration {
        try await run("DROP TABLE IF EXISTS suifang_bench_copy")
        try await run(PostgresQuery(unsafeSQL: "CREATE TABLE suifang_bench_copy (LIKE \(table.qualified) INCLUDING ALL)"))
        let started = ContinuousClock.now
        try await transaction {
            try await self.copy(bytes, into: "suifang_bench_copy", columns: table.copyColumns)
        }
        let elapsed = ContinuousClock.now - started
        try await run("DROP TABLE suifang_bench_copy")
        return elapsed
    }

    /// `COPY table (columns) FROM STDIN` of text-format rows, in chunks of 1 MiB (a page can be
    /// large). PostgresNIO quotes the names itself (policy names are plain identifiers).
    private func copy(_ bytes: [UInt8], into table: String, columns: [String]) async throws {
        try await connection.copyFrom(table: table, columns: columns, logger: logger) { writer in
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + (1 << 20), bytes.count)
                try await writer.write(ByteBuffer(bytes: bytes[offset..<end]))
                offset = end
            }
        }
    }

    private func transaction(_ body: () async throws -> Void) async throws {
        try await run("BEGIN")
        do {
            try await body()
            try await run("COMMIT")
        } catch {
            try? await run("ROLLBACK")
            throw error
        }
    }

    private func run(_ query: PostgresQuery) async throws {
        try await connection.query(query, logger: logger).consume()
    }

    /// Whether the connection ended (the server restarted or dropped it).
    var isClosed: Bool { connection.isClosed }

    func close() async {
        try? await connection.close()
    }
}

extension PostgresRowSequence {
    /// Reads the rows to the end (statements whose rows nobody needs).
    func consume() async throws {
        for try await _ in self {}
    }
}
