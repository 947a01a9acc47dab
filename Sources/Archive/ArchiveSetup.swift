import Logging
import PostgresNIO
import Replica

/// `suifang archive setup`: the hospital group's administrator prepares the archive for one
/// hospital, connected as the role that owns the archive.
///
/// It creates the schema, tables and views (or what a later release adds), registers the
/// hospital for `role` (the role its central will connect as; the administrator creates the
/// role and its credentials in PostgreSQL), creates the hospital's partitions and grants that
/// role exactly those. Run again it changes nothing, or moves the hospital to a new role.
public enum ArchiveSetup {
    /// A PostgreSQL role name this accepts: letters, digits, `_` and `-`, at most 63 bytes.
    public static func validRole(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 63 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-".contains($0)) }
    }

    /// Checks that `role` may be `hospital`'s writer: an ordinary role (no superuser, no role that
    /// creates roles or bypasses row security, no predefined `pg_` role, not the archive's owner
    /// nor a member of it), registered for no other hospital, reading no hospital's tables.
    static func checkWriter(_ role: String, of hospital: String, on connection: PostgresConnection, logger: Logger) async throws {
        let attributes = try await connection.query(
            """
            SELECT r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolreplication OR r.rolname LIKE 'pg\\_%'
                   OR r.rolname = current_user OR pg_has_role(r.oid, (SELECT oid FROM pg_roles WHERE rolname = current_user), 'MEMBER')
              FROM pg_roles r WHERE r.rolname = \(role)
            """, logger: logger)
        for try await privileged in attributes.decode(Bool.self) where privileged {
            throw ArchiveError(
                .badTarget,
                "role '\(role)' is not an ordinary role (a superuser, the archive's owner or a member of it, a role that creates roles, bypasses row security or replicates, or a predefined pg_ role): give the hospital a role of its own"
            )
        }
        guard try await registrationsExist(on: connection, logger: logger) else { return }
        if let other = try await hospitalWritten(by: role, on: connection, logger: logger), other != hospital {
            throw ArchiveError(.badTarget, "role '\(role)' already writes hospital '\(other)': each hospital needs a role of its own")
        }
        let reads = try await connection.query("SELECT has_table_privilege(\(role), 'suifang._archive_mark', 'SELECT')", logger: logger)
        for try await reads in reads.decode(Bool.self) where reads {
            throw ArchiveError(.badTarget, "role '\(role)' reads every hospital's tables: a hospital's role may read only its own")
        }
    }

    /// Checks that `reader` may read every hospital: it writes none, and is not `writer`.
    static func checkReader(_ reader: String, writer: String, on connection: PostgresConnection, logger: Logger) async throws {
        guard reader != writer else {
            throw ArchiveError(.badTarget, "the reader reads every hospital: it cannot be the hospital's role '\(writer)' too")
        }
        guard try await registrationsExist(on: connection, logger: logger) else { return }
        if let written = try await hospitalWritten(by: reader, on: connection, logger: logger) {
            throw ArchiveError(.badTarget, "role '\(reader)' writes hospital '\(written)': it cannot be the reader")
        }
    }

    private static func registrationsExist(on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query("SELECT to_regclass('suifang._archive_hospital') IS NOT NULL AND to_regclass('suifang._archive_mark') IS NOT NULL", logger: logger)
        for try await exists in rows.decode(Bool.self) { return exists }
        return false
    }

    /// The hospital `role` is registered for, if any (the first by name, should there be several).
    private static func hospitalWritten(by role: String, on connection: PostgresConnection, logger: Logger) async throws -> String? {
        let rows = try await connection.query("SELECT min(hospital) FROM suifang._archive_hospital WHERE role = \(role)", logger: logger)
        for try await hospital in rows.decode(String?.self) { return hospital }
        return nil
    }

    private static func checkExists(_ role: String, on connection: PostgresConnection, logger: Logger) async throws {
        let rows = try await connection.query("SELECT 1 FROM pg_roles WHERE rolname = \(role)", logger: logger)
        var exists = false
        for try await _ in rows { exists = true }
        guard exists else { throw ArchiveError(.badTarget, "there is no role '\(role)': create it first (CREATE ROLE \(role) LOGIN PASSWORD …)") }
    }

    /// Sets the archive up for `hospital`, written by `role`, read by `reader` when given.
    /// - Returns: the names of the hospital's partitions.
    /// - Throws: ``ArchiveError`` when a name is not usable, a role does not exist or may not
    ///   have its part (``checkWriter(_:of:on:logger:)``, ``checkReader(_:writer:on:logger:)``),
    ///   the connecting role does not own the archive, or the archive's schema holds objects it
    ///   does not own (`untrustedSchema`).
    public static func run(target: ArchiveTarget, policies: PolicySet, hospital: String, role: String, reader: String?, logger: Logger) async throws -> [String] {
        try ArchiveWriter.checkHospital(hospital)
        let roles = [role] + (reader.map { [$0] } ?? [])
        for name in roles where !validRole(name) {
            throw ArchiveError(.badTarget, "a role name must be 1–63 letters, digits, '_' or '-'")
        }
        let schema = try ArchiveSchema(policies: policies)
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: try target.configuration(), id: 1, logger: logger)
        } catch {
            throw ArchiveError(.database, "cannot connect to \(target): \((error as? PSQLError)?.serverInfo?[.message] ?? "\(type(of: error))")")
        }
        do {
            try await ArchiveSession.configure(connection, logger: logger)
            let session = ArchiveSession(connection: connection, schema: schema, logger: logger)
            guard try await session.ownsArchive() else {
                throw ArchiveError(.notRegistered, "role '\(try await session.currentRole())' does not own the archive's schema: connect as its owner")
            }
            for name in roles { try await checkExists(name, on: connection, logger: logger) }
            try await checkWriter(role, of: hospital, on: connection, logger: logger)
            if let reader { try await checkReader(reader, writer: role, on: connection, logger: logger) }
            let registration = try await session.register(hospital: hospital, role: role, clusterKey: nil, reader: reader)
            try? await connection.close()
            return [registration.marks] + schema.tables.map { registration.partition(of: $0) }
        } catch {
            try? await connection.close()
            // Setting up names roles and tables, never a patient's value: PostgreSQL's message helps.
            if let error = error as? PSQLError { throw ArchiveError(.database, error.serverInfo?[.message] ?? "\(error.code)") }
            throw error
        }
    }
}
