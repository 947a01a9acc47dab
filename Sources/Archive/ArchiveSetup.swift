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

    private static func checkExists(_ role: String, on connection: PostgresConnection, logger: Logger) async throws {
        let rows = try await connection.query("SELECT 1 FROM pg_roles WHERE rolname = \(role)", logger: logger)
        var exists = false
        for try await _ in rows { exists = true }
        guard exists else { throw ArchiveError(.badTarget, "there is no role '\(role)': create it first (CREATE ROLE \"\(role)\" LOGIN PASSWORD …)") }
    }

    /// Sets the archive up for `hospital`, written by `role`, read by `reader` when given.
    /// - Returns: the names of the hospital's partitions.
    /// - Throws: ``ArchiveError`` when a name is not usable, a role does not exist or may not
    ///   have its part (``ArchiveRoleVetting``),
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
            let registration = try await session.register(hospital: hospital, role: role, clusterKey: nil, reader: reader)
            try? await connection.close()
            return [registration.marks] + schema.tables.map { registration.partition(of: $0) }
        } catch {
            try? await connection.close()
            // Setting up names roles and tables, never a patient's value: PostgreSQL's message helps.
            if let error = error as? PSQLError, error.serverInfo?[.sqlState] == "55P03" {
                throw ArchiveError(
                    .database,
                    "another session held a table setup needs for longer than lock_timeout (a long report, an upgrade, another setup): see pg_locks and pg_stat_activity, then run setup again"
                )
            }
            if let error = error as? PSQLError { throw ArchiveError(.database, error.serverInfo?[.message] ?? "\(error.code)") }
            throw error
        }
    }
}
