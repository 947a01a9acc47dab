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
        // Tables are named with their schema; functions and operators are looked up in
        // pg_catalog first and never in `public` (where a hospital's role might plant one that
        // the administrator's statements would call).
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

    /// Whether this role is the archive's administrator: it owns schema `suifang`, or the schema
    /// is not there yet and it may create it. Only the administrator changes the schema; the
    /// privilege to create in someone else's schema is not enough (what it created there would
    /// run the next statements of its owner).
    func ownsArchive() async throws -> Bool {
        let rows = try await connection.query(
            """
            SELECT CASE WHEN to_regnamespace('suifang') IS NULL THEN has_database_privilege(current_database(), 'CREATE')
                        ELSE (SELECT nspowner FROM pg_namespace WHERE nspname = 'suifang') = (SELECT oid FROM pg_roles WHERE rolname = current_user) END
            """, logger: logger)
        for try await owns in rows.decode(Bool.self) { return owns }
        return false
    }

    /// Objects in the archive's schema that another role owns (`name (owner)`): the
    /// administrator's statements would use them, running whatever their owner put in them.
    func foreignObjects() async throws -> [String] {
        let rows = try await connection.query(
            """
            SELECT c.relname::text, pg_get_userbyid(c.relowner)::text FROM pg_class c
             WHERE c.relnamespace = to_regnamespace('suifang') AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
            UNION ALL
            SELECT p.proname::text, pg_get_userbyid(p.proowner)::text FROM pg_proc p
             WHERE p.pronamespace = to_regnamespace('suifang') AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
            UNION ALL
            SELECT t.typname::text, pg_get_userbyid(t.typowner)::text FROM pg_type t
             WHERE t.typnamespace = to_regnamespace('suifang') AND t.typowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
            """, logger: logger)
        var found: [String] = []
        for try await (name, owner) in rows.decode((String, String).self) { found.append("\(name) (\(owner))") }
        return found
    }

    /// Claims `hospital` for this connection's role and binds it to `clusterKey` when no cluster
    /// claimed it yet (a role that may not read the registrations: `suifang.claim_hospital`).
    /// - Throws: ``ArchiveError`` `notRegistered` when nobody registered the hospital;
    ///   `hospitalClash` when it is another role's or another cluster's.
    func claim(hospital: String, clusterKey: String, role: String) async throws -> ArchiveRegistration {
        let rows = try await connection.query("SELECT claim_status, claim_id, bound_key FROM suifang.claim_hospital(\(hospital), \(clusterKey))", logger: logger)
        var answer: (status: String, id: Int32?, key: String?)?
        for try await row in rows.decode((String, Int32?, String?).self) { answer = row }
        switch answer?.status {
        case "ok":
            guard let id = answer?.id else { break }
            guard answer?.key == clusterKey else { throw ArchiveError.otherCluster(hospital) }
            return ArchiveRegistration(hospital: hospital, role: role, id: Int(id))
        case "other-role":
            throw ArchiveError.otherRole(hospital)
        case "absent":
            throw ArchiveError(
                .notRegistered,
                "hospital '\(hospital)' is not registered in the archive for role '\(role)': the archive's administrator runs `suifang archive setup --hospital \(hospital) --role \(role)`"
            )
        default:
            break
        }
        throw ArchiveError(.database, "the archive's claim_hospital gave no usable answer (after an upgrade: suifang archive setup)")
    }

    /// Creates what is missing, registers `hospital` for `role` and creates its partitions. One
    /// at a time, under a lock only setups take (several owner-mode centrals may start at once).
    ///
    /// A central (`clusterKey` given) registers only for itself: a hospital already registered
    /// for another role or cluster is refused. The administrator (`clusterKey` nil) may move a
    /// hospital to another role (the old role loses its partitions) and grants the role its
    /// partitions; `reader`, when given, may read every hospital's tables and the views. The
    /// administrator's roles are vetted first, under the same lock, and every registered role
    /// again once the grants are made (``ArchiveRoleVetting``).
    /// - Throws: ``ArchiveError`` `hospitalClash`; `badTarget` for a role that may not have its part.
    @discardableResult
    func register(hospital: String, role: String, clusterKey: String?, reader: String? = nil) async throws -> ArchiveRegistration {
        var registration: ArchiveRegistration?
        try await connection.transaction(logger: logger) {
            try await lockSetup()
            let foreign = try await foreignObjects()
            guard foreign.isEmpty else {
                throw ArchiveError(
                    .untrustedSchema,
                    "schema suifang holds objects owned by another role, which the archive's statements would run: \(foreign.prefix(5).joined(separator: ", ")); drop them or make the archive's owner theirs"
                )
            }
            let vetting = ArchiveRoleVetting(connection: connection, logger: logger)
            if clusterKey == nil {
                try await vetting.checkDefaultPrivileges()
                try await vetting.checkWriter(role, of: hospital)
                if let reader { try await vetting.checkReader(reader, writer: role) }
            }
            for statement in schema.creation { try await run(statement) }
            for statement in schema.missingColumns(existing: try await existingColumns()) { try await run(statement) }
            try await defineViews()
            try await connection.query(
                """
                INSERT INTO suifang._archive_hospital (hospital, role, cluster_key) SELECT \(hospital), \(role), \(clusterKey)
                 WHERE NOT EXISTS (SELECT 1 FROM suifang._archive_hospital WHERE hospital = \(hospital))
                """,
                logger: logger
            ).consume()
            let rows = try await connection.query("SELECT role, id, cluster_key FROM suifang._archive_hospital WHERE hospital = \(hospital)", logger: logger)
            var found: (role: String, id: Int, clusterKey: String?)?
            for try await (role, id, key) in rows.decode((String, Int32, String?).self) { found = (role, Int(id), key) }
            guard let found else { throw ArchiveError(.database, "the archive lost hospital '\(hospital)''s registration") }
            var current = ArchiveRegistration(hospital: hospital, role: found.role, id: found.id)
            if let clusterKey {
                guard found.role == role else { throw ArchiveError.otherRole(hospital) }
                guard found.clusterKey == nil || found.clusterKey == clusterKey else { throw ArchiveError.otherCluster(hospital) }
                if found.clusterKey == nil {
                    try await connection.query("UPDATE suifang._archive_hospital SET cluster_key = \(clusterKey) WHERE hospital = \(hospital)", logger: logger).consume()
                }
            } else if found.role != role {
                for statement in schema.revocations(from: current) { try await run(statement) }
                // The new role's central is another machine: the cluster binding starts again.
                try await connection.query("UPDATE suifang._archive_hospital SET role = \(role), cluster_key = NULL WHERE hospital = \(hospital)", logger: logger).consume()
                current.role = role
            }
            for statement in schema.partitions(of: current, existing: try await existingTables()) { try await run(statement) }
            try await checkPartitions(of: current)
            if clusterKey == nil {
                for statement in schema.grants(to: current) { try await run(statement) }
                if let reader { for statement in schema.readerGrants(to: reader) { try await run(statement) } }
                try await vetting.checkRegisteredRoles()
            }
            // Once more at the end: nothing planted while this ran (by a role that may create here).
            let plantedSince = try await foreignObjects()
            guard plantedSince.isEmpty else {
                throw ArchiveError(.untrustedSchema, "schema suifang gained objects owned by another role while setting up: \(plantedSince.prefix(5).joined(separator: ", "))")
            }
            registration = current
        }
        guard let registration else { throw ArchiveError(.database, "the archive did not register hospital '\(hospital)'") }
        return registration
    }

    /// Serialises setting up: a lock on `suifang_admin._archive_setup`, in SHARE UPDATE EXCLUSIVE
    /// mode (it conflicts with itself). The table is in a schema only the archive's owner may use:
    /// a role that can name a table can hold a lock on it, or queue one behind another of its
    /// sessions, before any privilege is checked (`PREPARE`, `CREATE RULE`). Before the table
    /// exists (the first setup, or the first after an upgrade) an advisory lock guards creating it.
    /// - Throws: ``ArchiveError`` `untrustedSchema` when that schema is another role's or another
    ///   role may use it.
    private func lockSetup() async throws {
        let rows = try await connection.query("SELECT to_regclass('suifang_admin._archive_setup') IS NOT NULL", logger: logger)
        var exists = false
        for try await found in rows.decode(Bool.self) { exists = found }
        if !exists {
            try await run("SELECT pg_catalog.pg_advisory_xact_lock(7382015::bigint)")
            try await run("CREATE SCHEMA IF NOT EXISTS \(ArchiveSchema.adminName)")
        }
        let others = try await connection.query(
            """
            SELECT pg_catalog.pg_get_userbyid(n.nspowner)::text, n.nspowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user),
                   EXISTS (SELECT 1 FROM pg_catalog.aclexplode(n.nspacl) a WHERE a.grantee <> n.nspowner)
              FROM pg_catalog.pg_namespace n WHERE n.nspname = 'suifang_admin'
            """, logger: logger)
        for try await (owner, owned, shared) in others.decode((String, Bool, Bool).self) {
            guard owned else {
                throw ArchiveError(.untrustedSchema, "schema suifang_admin belongs to role '\(owner)', not the archive's owner: drop it or make the owner its owner")
            }
            guard !shared else {
                throw ArchiveError(.untrustedSchema, "schema suifang_admin is the archive's owner's alone: revoke what other roles were granted on it")
            }
        }
        if !exists { try await run(ArchiveSchema.setupLockTable) }
        try await run("LOCK TABLE suifang_admin._archive_setup IN SHARE UPDATE EXCLUSIVE MODE")
    }

    /// Creates or replaces the group's views and functions; a view whose comment says this
    /// release's definition made it is left alone (``GroupViews/tag(of:)``). The views read the
    /// hospital's tables; policies without them (a benchmark's) get none.
    private func defineViews() async throws {
        let views = GroupViews.statements.compactMap(GroupViews.viewName(of:))
        let rows = try await connection.query(
            "SELECT v, pg_catalog.obj_description(pg_catalog.to_regclass(v), 'pg_class') FROM pg_catalog.unnest(\(views)::text[]) v", logger: logger)
        var comments: [String: String] = [:]
        for try await (view, comment) in rows.decode((String, String?).self) { comments[view] = comment }
        for statement in GroupViews.statements {
            let view = GroupViews.viewName(of: statement)
            if let view, comments[view] == GroupViews.tag(of: statement) { continue }
            try await run("SAVEPOINT group_view")
            do {
                try await run(statement)
                if let view { try await run("COMMENT ON VIEW \(view) IS \(literal(GroupViews.tag(of: statement)))") }
            } catch let error as PSQLError where ["42P01", "42703"].contains(error.serverInfo?[.sqlState]) {
                try await run("ROLLBACK TO SAVEPOINT group_view")
            }
        }
    }

    /// The columns of each partitioned table of the archive.
    private func existingColumns() async throws -> [String: Set<String>] {
        let rows = try await connection.query(
            """
            SELECT c.relname::text, a.attname::text FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
             WHERE c.relnamespace = pg_catalog.to_regnamespace('suifang') AND c.relkind = 'p' AND a.attnum > 0 AND NOT a.attisdropped
            """, logger: logger)
        var columns: [String: Set<String>] = [:]
        for try await (table, column) in rows.decode((String, String).self) { columns[table, default: []].insert(column) }
        return columns
    }

    /// The names of the archive's tables and views.
    private func existingTables() async throws -> Set<String> {
        let rows = try await connection.query(
            "SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('suifang')", logger: logger)
        var names: Set<String> = []
        for try await name in rows.decode(String.self) { names.insert(name) }
        return names
    }

    /// Every partition `registration` is granted is what its name says: a partition of its
    /// parent holding exactly that hospital (a table made another way under that name is not).
    private func checkPartitions(of registration: ArchiveRegistration) async throws {
        let names = schema.partitionNames(of: registration)
        let rows = try await connection.query(
            """
            SELECT c.relname::text, p.relname::text, pg_get_expr(c.relpartbound, 0)
              FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid JOIN pg_class p ON p.oid = i.inhparent
             WHERE c.relnamespace = to_regnamespace('suifang') AND p.relnamespace = to_regnamespace('suifang')
               AND c.relname = ANY(\(names.map(\.partition)))
            """, logger: logger)
        var found: [String: (parent: String, bound: String?)] = [:]
        for try await (name, parent, bound) in rows.decode((String, String, String?).self) { found[name] = (parent, bound) }
        let bound = "FOR VALUES IN (\(literal(registration.hospital)))"
        for (parent, partition) in names where found[partition]?.parent != parent || found[partition]?.bound != bound {
            throw ArchiveError(
                .untrustedSchema, "table suifang.\(partition) is not the partition of \(parent) for hospital '\(registration.hospital)': rename or drop it, then run setup again")
        }
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
