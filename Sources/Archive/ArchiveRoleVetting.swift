import Logging
import PostgresNIO

/// Who `archive setup` accepts as a hospital's writer and as the group's reader, checked under the
/// setups' lock (so two setups cannot each pass the other's role).
///
/// A role can act as every role it is a member of, directly or through others, with or without
/// INHERIT (`SET ROLE`), and every role that is a member of it can act as it. So each check
/// follows membership (`pg_has_role(…, 'MEMBER')`) both ways: a hospital's role may not reach a
/// privileged role, another hospital's role or the reader, nor be reachable from those.
struct ArchiveRoleVetting {
    let connection: PostgresConnection
    let logger: Logger

    /// Refuses `role` as `hospital`'s writer when it can act as a privileged role (a superuser,
    /// the archive's or the database's owner, a role that creates roles, bypasses row security or
    /// replicates, a predefined `pg_` role such as `pg_write_all_data`), when it and another
    /// hospital's role can act one as the other, when it and a role that reads every hospital
    /// can, or when it (or a role it can act as) has any right on a table of the archive other
    /// than `hospital`'s own partitions.
    func checkWriter(_ role: String, of hospital: String) async throws {
        try await checkOrdinary(role, as: "a hospital's role")
        try await checkCreatesNothing(role)
        guard try await registrationsExist() else { return }
        if let linked = try await registeredRoleLinked(to: role, except: hospital) {
            if linked.role == role {
                throw ArchiveError(.badTarget, "role '\(role)' already writes hospital '\(linked.hospital)': each hospital needs a role of its own")
            }
            throw ArchiveError(
                .badTarget,
                "role '\(role)' and role '\(linked.role)' (which writes hospital '\(linked.hospital)') can act one as the other (role membership): each hospital needs a role no other hospital's can act as"
            )
        }
        let readers = try await connection.query(
            """
            SELECT p.rolname::text FROM pg_catalog.pg_roles r, pg_catalog.pg_roles p
             WHERE r.rolname = \(role) AND pg_catalog.has_table_privilege(p.oid, 'suifang._archive_mark', 'SELECT')
               AND \(unescaped: Self.linked("r", "p"))
             ORDER BY p.rolname LIMIT 1
            """, logger: logger)
        for try await reader in readers.decode(String.self) {
            throw ArchiveError(
                .badTarget,
                reader == role
                    ? "role '\(role)' reads every hospital's tables: a hospital's role may read only its own"
                    : "role '\(role)' and role '\(reader)', which reads every hospital's tables, can act one as the other (role membership): a hospital's role may read only its own"
            )
        }
        try await checkOwnPartitionsOnly(role, of: hospital, registered: false)
    }

    /// Refuses when a registered hospital's role has rights beyond its own partitions, or may
    /// create in the schema: run after
    /// a setup's grants, it catches what reached a role after its own vetting (a right granted by
    /// hand since, the owner's default privileges on the partitions just made).
    func checkRegisteredRoles() async throws {
        let rows = try await connection.query(
            "SELECT h.hospital, h.role FROM suifang._archive_hospital h WHERE h.role <> current_user ORDER BY h.id", logger: logger)
        var registered: [(hospital: String, role: String)] = []
        for try await found in rows.decode((String, String).self) { registered.append(found) }
        for (hospital, role) in registered {
            try await checkCreatesNothing(role)
            try await checkOwnPartitionsOnly(role, of: hospital, registered: true)
        }
    }

    /// Refuses while the archive's owner has default privileges (`ALTER DEFAULT PRIVILEGES`) that
    /// give what it creates in the archive's schema to another role: they would reach the
    /// partitions setup makes after every role was vetted.
    func checkDefaultPrivileges() async throws {
        let rows = try await connection.query(
            """
            SELECT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END
              FROM pg_catalog.pg_default_acl d, LATERAL pg_catalog.aclexplode(d.defaclacl) a
             WHERE d.defaclrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
               AND (d.defaclnamespace = 0 OR d.defaclnamespace = pg_catalog.to_regnamespace('suifang'))
               AND d.defaclobjtype IN ('r', 'S', 'f', 'T', 'n') AND a.grantee <> d.defaclrole AND NOT (d.defaclobjtype IN ('f', 'T') AND a.grantee = 0)
             ORDER BY 1 LIMIT 1
            """, logger: logger)
        for try await grantee in rows.decode(String.self) {
            throw ArchiveError(
                .badTarget,
                "the archive's owner has default privileges (ALTER DEFAULT PRIVILEGES) that give what it creates to '\(grantee)': the hospital's new partitions would be theirs too; remove them (\\ddp in psql) first"
            )
        }
    }

    /// Refuses `role` when it (or a role it can act as) has any right on a table or sequence of the
    /// archive other than `hospital`'s own partitions; `registered`: it writes `hospital` already
    /// (the right reached it since its setup).
    private func checkOwnPartitionsOnly(_ role: String, of hospital: String, registered: Bool) async throws {
        let rights = (columns: "SELECT, INSERT, UPDATE, REFERENCES", sequences: "USAGE, SELECT, UPDATE")
        guard let table = try await tableWithRights(of: role, columnRights: rights.columns, sequenceRights: rights.sequences, exceptPartitionsOf: hospital)
        else { return }
        let who = registered ? "role '\(role)', which writes hospital '\(hospital)'," : "role '\(role)'"
        throw ArchiveError(
            .badTarget,
            "\(who) has rights on suifang.\(table), which is not hospital '\(hospital)''s own partition (granted to it or to a role it can act as): revoke them\(registered ? ", then run setup again" : " first")"
        )
    }

    /// Refuses `reader` as the group's reader when it is `writer`, can act as a privileged role,
    /// or when it and any hospital's role (`writer` included) can act one as the other.
    func checkReader(_ reader: String, writer: String) async throws {
        guard reader != writer else {
            throw ArchiveError(.badTarget, "the reader reads every hospital: it cannot be the hospital's role '\(writer)' too")
        }
        try await checkOrdinary(reader, as: "the reader")
        try await checkCreatesNothing(reader)
        let withWriter = try await connection.query(
            """
            SELECT count(*) FROM pg_catalog.pg_roles r, pg_catalog.pg_roles p
             WHERE r.rolname = \(reader) AND p.rolname = \(writer) AND \(unescaped: Self.linked("r", "p"))
            """, logger: logger)
        for try await count in withWriter.decode(Int64.self) where count > 0 {
            throw ArchiveError(
                .badTarget, "role '\(reader)' and the hospital's role '\(writer)' can act one as the other (role membership): the reader must write no hospital")
        }
        if try await registrationsExist(), let linked = try await registeredRoleLinked(to: reader, except: nil) {
            if linked.role == reader {
                throw ArchiveError(.badTarget, "role '\(reader)' writes hospital '\(linked.hospital)': it cannot be the reader")
            }
            throw ArchiveError(
                .badTarget,
                "role '\(reader)' and role '\(linked.role)' (which writes hospital '\(linked.hospital)') can act one as the other (role membership): the reader must write no hospital"
            )
        }
        try await checkReadsOnly(reader)
    }

    /// Refuses `reader` when it, or a role it can act as, may change any table of the archive
    /// (at table or column level).
    private func checkReadsOnly(_ reader: String) async throws {
        if let table = try await tableWithRights(of: reader, columnRights: "INSERT, UPDATE, REFERENCES", sequenceRights: "USAGE, UPDATE", exceptPartitionsOf: nil) {
            throw ArchiveError(
                .badTarget, "role '\(reader)' may change suifang.\(table) (granted to it or to a role it can act as): the reader only reads; revoke that first")
        }
    }

    /// The first table or sequence of the archive on which `role`, or a role it can act as, may
    /// delete, truncate or add triggers, has any of `columnRights` on a column (a table-level right
    /// covers every column), or any of `sequenceRights` on a sequence (`setval` on the
    /// registrations' would break the next setup); `hospital`'s own partitions aside, when given.
    private func tableWithRights(of role: String, columnRights: String, sequenceRights: String, exceptPartitionsOf hospital: String?) async throws -> String? {
        let ownBound = hospital.map { "FOR VALUES IN (\(literal($0)))" }
        // pg_get_expr with no relation: it would open each partition, waiting on any lock on it.
        // CASE, not AND: has_sequence_privilege fails on a table, and SQL does not promise an order.
        // MAINTAIN (PostgreSQL 17: it may lock any table in any mode) is a name earlier servers reject.
        let rows = try await connection.query(
            """
            SELECT c.relname::text FROM pg_catalog.pg_class c, pg_catalog.pg_roles r, pg_catalog.pg_roles p
             WHERE r.rolname = \(role) AND pg_catalog.pg_has_role(r.oid, p.oid, 'MEMBER')
               AND c.relnamespace = pg_catalog.to_regnamespace('suifang') AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
               AND CASE WHEN c.relkind = 'S' THEN pg_catalog.has_sequence_privilege(p.oid, c.oid, \(sequenceRights))
                        ELSE pg_catalog.has_table_privilege(p.oid, c.oid, CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 170000
                                                                               THEN 'DELETE, TRUNCATE, TRIGGER, MAINTAIN' ELSE 'DELETE, TRUNCATE, TRIGGER' END)
                             OR pg_catalog.has_any_column_privilege(p.oid, c.oid, \(columnRights)) END
               AND (\(ownBound)::text IS NULL OR pg_catalog.pg_get_expr(c.relpartbound, 0) IS DISTINCT FROM \(ownBound))
             ORDER BY c.relname LIMIT 1
            """, logger: logger)
        for try await table in rows.decode(String.self) { return table }
        return nil
    }

    /// Refuses `role` when it, or a role it can act as, may create objects in the archive's
    /// schema (which every later setup would refuse, and whose names could pose as partitions).
    func checkCreatesNothing(_ role: String) async throws {
        let creators = try await connection.query(
            """
            SELECT count(*) FROM pg_catalog.pg_roles r, pg_catalog.pg_roles p
             WHERE r.rolname = \(role) AND pg_catalog.pg_has_role(r.oid, p.oid, 'MEMBER')
               AND pg_catalog.to_regnamespace('suifang') IS NOT NULL AND pg_catalog.has_schema_privilege(p.oid, 'suifang', 'CREATE')
            """, logger: logger)
        for try await count in creators.decode(Int64.self) where count > 0 {
            throw ArchiveError(.badTarget, "role '\(role)' may create objects in schema suifang (granted to it or to a role it can act as): revoke CREATE first")
        }
    }

    /// Refuses `role` when it can act as a privileged role (itself included), naming which.
    private func checkOrdinary(_ role: String, as part: String) async throws {
        let rows = try await connection.query(
            """
            SELECT p.rolname::text,
                   CASE WHEN p.rolsuper THEN 'a superuser'
                        WHEN p.rolname = current_user THEN 'the archive''s owner'
                        WHEN p.oid = (SELECT datdba FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()) THEN 'the database''s owner'
                        WHEN p.rolcreaterole THEN 'a role that creates roles'
                        WHEN p.rolbypassrls THEN 'a role that bypasses row security'
                        WHEN p.rolreplication THEN 'a replication role'
                        ELSE 'a predefined role' END
              FROM pg_catalog.pg_roles r, pg_catalog.pg_roles p
             WHERE r.rolname = \(role) AND pg_catalog.pg_has_role(r.oid, p.oid, 'MEMBER')
               AND (p.rolsuper OR p.rolcreaterole OR p.rolbypassrls OR p.rolreplication OR p.rolname LIKE 'pg\\_%'
                    OR p.rolname = current_user OR p.oid = (SELECT datdba FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()))
             ORDER BY p.oid = r.oid DESC, p.rolsuper DESC, p.rolname LIMIT 1
            """, logger: logger)
        for try await (privileged, what) in rows.decode((String, String).self) {
            let how = privileged == role ? "it is \(what)" : "it can act as '\(privileged)' (role membership), \(what)"
            throw ArchiveError(.badTarget, "role '\(role)' is not an ordinary role for \(part): \(how): give it a role of its own with no other membership")
        }
    }

    /// A registered hospital whose role `role` can act as or which can act as `role` (its
    /// registration for `hospital` by `role` itself aside); the same role first.
    private func registeredRoleLinked(to role: String, except hospital: String?) async throws -> (hospital: String, role: String)? {
        let rows = try await connection.query(
            """
            SELECT h.hospital, h.role FROM suifang._archive_hospital h
              JOIN pg_catalog.pg_roles p ON p.rolname = h.role, pg_catalog.pg_roles r
             WHERE r.rolname = \(role) AND NOT (h.hospital IS NOT DISTINCT FROM \(hospital) AND h.role = \(role)) AND \(unescaped: Self.linked("r", "p"))
             ORDER BY h.role = \(role) DESC, h.hospital LIMIT 1
            """, logger: logger)
        for try await found in rows.decode((String, String).self) { return found }
        return nil
    }

    /// SQL: role `r` can act as role `p`, or `p` as `r`. Superusers and the archive's owner can act
    /// as anyone; that direction is theirs by design (and `checkOrdinary` refuses the other).
    private static func linked(_ r: String, _ p: String) -> String {
        """
        (pg_catalog.pg_has_role(\(r).oid, \(p).oid, 'MEMBER')
         OR (pg_catalog.pg_has_role(\(p).oid, \(r).oid, 'MEMBER') AND NOT \(p).rolsuper AND \(p).rolname <> current_user))
        """
    }

    private func registrationsExist() async throws -> Bool {
        let rows = try await connection.query(
            "SELECT pg_catalog.to_regclass('suifang._archive_hospital') IS NOT NULL AND pg_catalog.to_regclass('suifang._archive_mark') IS NOT NULL",
            logger: logger)
        for try await exists in rows.decode(Bool.self) { return exists }
        return false
    }
}
