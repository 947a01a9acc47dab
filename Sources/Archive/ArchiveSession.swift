import Logging
import PostgresNIO
import Replica

/// What setting the archive up takes, on a connection someone else owns: the session's
/// settings, who it is, and registering a hospital with its partitions (and, for the archive's
/// administrator, the grants that let the hospital's role write them).
struct ArchiveSession {
    let connection: PostgresConnection
    let schema: ArchiveSchema
    let logger: Logger

    /// The settings every archive connection runs under.
    static func configure(_ connection: PostgresConnection, logger: Logger) async throws {
        // COPY names its table unqualified (PostgresNIO quotes the name whole): the archive's
        // schema is on the path, after pg_catalog and never `public` (where a hospital's role
        // might plant a function or operator that the administrator's statements would call).
        try await connection.run("SET search_path = pg_catalog, suifang, pg_temp", logger: logger)
        // A long report holding a lock must not stall the archive silently, nor the archive's
        // queued lock stall every reader behind it.
        try await connection.run("SET lock_timeout = '10s'", logger: logger)
        try await connection.run("SET statement_timeout = '60s'", logger: logger)
    }

    /// The role this connection acts as.
    func currentRole() async throws -> String {
        let rows = try await connection.query("SELECT current_user::text", logger: logger)
        for try await role in rows.decode(String.self) { return role }
        throw ArchiveError(.database, "the archive did not say which role this connection is")
    }

    /// Whether this role may create in the archive's schema (or the schema itself): the
    /// archive's owner, which sets up what is missing.
    func mayCreate() async throws -> Bool {
        let rows = try await connection.query(
            """
            SELECT CASE WHEN to_regnamespace('suifang') IS NULL THEN has_database_privilege(current_database(), 'CREATE')
                        ELSE has_schema_privilege('suifang', 'CREATE') END
            """, logger: logger)
        for try await may in rows.decode(Bool.self) { return may }
        return false
    }

    /// `hospital`'s registration, when there is one.
    func registration(of hospital: String) async throws -> ArchiveRegistration? {
        let rows = try await connection.query("SELECT role, id FROM suifang._archive_hospital WHERE hospital = \(hospital)", logger: logger)
        for try await (role, id) in rows.decode((String, Int32).self) { return ArchiveRegistration(hospital: hospital, role: role, id: Int(id)) }
        return nil
    }

    /// Creates what is missing (under an advisory lock: several centrals start at once),
    /// registers `hospital` for `role` and creates its partitions.
    ///
    /// A central (`clusterKey` given) registers only for itself: a hospital already registered
    /// for another role or cluster is refused. The administrator (`clusterKey` nil) may move a
    /// hospital to another role (the old role loses its partitions) and grants the role its
    /// partitions; `reader`, when given, may read every hospital's tables and the views.
    /// - Throws: ``ArchiveError`` `hospitalClash`.
    @discardableResult
    func register(hospital: String, role: String, clusterKey: String?, reader: String? = nil) async throws -> ArchiveRegistration {
        var registration: ArchiveRegistration?
        try await connection.transaction(logger: logger) {
            try await run("SELECT pg_catalog.pg_advisory_xact_lock(7382015::bigint)")
            for statement in schema.creation { try await run(statement) }
            // The views read the hospital's tables; policies without them (a benchmark's) get none.
            for statement in GroupViews.statements {
                try await run("SAVEPOINT group_view")
                do {
                    try await run(statement)
                } catch {
                    try await run("ROLLBACK TO SAVEPOINT group_view")
                }
            }
            try await connection.query(
                "INSERT INTO suifang._archive_hospital (hospital, role, cluster_key) VALUES (\(hospital), \(role), \(clusterKey)) ON CONFLICT (hospital) DO NOTHING",
                logger: logger
            ).consume()
            let rows = try await connection.query("SELECT role, id, cluster_key FROM suifang._archive_hospital WHERE hospital = \(hospital)", logger: logger)
            var found: (role: String, id: Int, clusterKey: String?)?
            for try await (role, id, key) in rows.decode((String, Int32, String?).self) { found = (role, Int(id), key) }
            guard let found else { throw ArchiveError(.database, "the archive lost hospital '\(hospital)''s registration") }
            var current = ArchiveRegistration(hospital: hospital, role: found.role, id: found.id)
            if let clusterKey {
                guard found.role == role else { throw ArchiveError.otherRole(hospital) }
                guard found.clusterKey == nil || found.clusterKey == clusterKey else {
                    throw ArchiveError(
                        .hospitalClash, "the archive already holds hospital '\(hospital)' for another cluster: give this central its own --archive-hospital name")
                }
                if found.clusterKey == nil {
                    try await connection.query("UPDATE suifang._archive_hospital SET cluster_key = \(clusterKey) WHERE hospital = \(hospital)", logger: logger).consume()
                }
            } else if found.role != role {
                for statement in schema.revocations(from: current) { try await run(statement) }
                // The new role's central is another machine: the cluster binding starts again.
                try await connection.query("UPDATE suifang._archive_hospital SET role = \(role), cluster_key = NULL WHERE hospital = \(hospital)", logger: logger).consume()
                current.role = role
            }
            for statement in schema.partitions(of: current) { try await run(statement) }
            if clusterKey == nil {
                for statement in schema.grants(to: current) { try await run(statement) }
                if let reader { for statement in schema.readerGrants(to: reader) { try await run(statement) } }
            }
            registration = current
        }
        guard let registration else { throw ArchiveError(.database, "the archive did not register hospital '\(hospital)'") }
        return registration
    }

    private func run(_ statement: String) async throws {
        try await connection.run(PostgresQuery(unsafeSQL: statement), logger: logger)
    }
}

extension PostgresConnection {
    /// Runs `query` and reads its rows to the end (statements whose rows nobody needs).
    func run(_ query: PostgresQuery, logger: Logger) async throws {
        try await self.query(query, logger: logger).consume()
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func transaction(logger: Logger, _ body: () async throws -> Void) async throws {
        try await run("BEGIN", logger: logger)
        do {
            try await body()
            try await run("COMMIT", logger: logger)
        } catch {
            try? await run("ROLLBACK", logger: logger)
            throw error
        }
    }
}

extension PostgresRowSequence {
    /// Reads the rows to the end (statements whose rows nobody needs).
    func consume() async throws {
        for try await _ in self {}
    }
}
