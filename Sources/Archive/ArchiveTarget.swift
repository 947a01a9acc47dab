import Foundation
import NIOSSL
import PostgresNIO

/// Where central archives: a PostgreSQL database, as `serve --archive postgres://…` names it.
///
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE&sslrootcert=FILE]`, the form
/// libpq reads. The password may instead come from `SUIFANG_ARCHIVE_PASSWORD`, so it stays out of
/// the process list and node.json. Off loopback the connection must be encrypted: `sslmode`
/// defaults to `verify-full` there (the server's certificate checked against `sslrootcert`, else
/// the system's roots, and its name against HOST); `require` encrypts without checking;
/// `disable` is refused (the archive carries every patient of the hospital).
public struct ArchiveTarget: Sendable, CustomStringConvertible {
    /// How the connection is protected.
    public enum TLSMode: String, Sendable {
        case disable, require
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// A PEM file of the certificate authorities the server's certificate must chain to.
    public var rootCertificatePath: String?

    /// Parses `url`; `environmentPassword` (from `SUIFANG_ARCHIVE_PASSWORD`) is used when the
    /// URL carries none.
    public init(url: String, environmentPassword: String? = ProcessInfo.processInfo.environment["SUIFANG_ARCHIVE_PASSWORD"]) throws(ArchiveError) {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            throw ArchiveError(.badTarget, "the archive must be a postgres://USER@HOST[:PORT]/DATABASE address")
        }
        guard let host = components.host, !host.isEmpty else { throw ArchiveError(.badTarget, "the archive address names no host") }
        guard let user = components.user, !user.isEmpty else { throw ArchiveError(.badTarget, "the archive address names no user (postgres://USER@HOST/DATABASE)") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw ArchiveError(.badTarget, "the archive address names no database (postgres://USER@HOST/DATABASE)") }
        let port = components.port ?? 5432
        guard (1...65_535).contains(port) else { throw ArchiveError(.badTarget, "the archive port must be 1…65535") }
        self.host = host
        self.port = port
        self.username = user
        self.password = components.password ?? environmentPassword
        self.database = database
        var settings: [String: String] = [:]
        for item in components.queryItems ?? [] {
            guard ["sslmode", "sslrootcert"].contains(item.name), let value = item.value, !value.isEmpty else {
                throw ArchiveError(.badTarget, "unknown or empty archive setting '\(item.name)' (sslmode, sslrootcert)")
            }
            settings[item.name] = value
        }
        let loopback = ["127.0.0.1", "::1", "localhost"].contains(host)
        if let mode = settings["sslmode"] {
            guard let parsed = TLSMode(rawValue: mode) else { throw ArchiveError(.badTarget, "sslmode must be disable, require or verify-full") }
            tls = parsed
        } else {
            tls = loopback ? .disable : .verifyFull
        }
        if tls == .disable, !loopback {
            throw ArchiveError(.badTarget, "sslmode=disable is refused off loopback: the archive carries every patient of the hospital")
        }
        rootCertificatePath = settings["sslrootcert"]
    }

    /// The address without its password (for logs and status).
    public var description: String { "postgres://\(username)@\(host):\(port)/\(database) (sslmode=\(tls.rawValue))" }

    /// The connection settings for PostgresNIO.
    func configuration() throws -> PostgresConnection.Configuration {
        let protection: PostgresConnection.Configuration.TLS
        switch tls {
        case .disable:
            protection = .disable
        case .require:
            var settings = TLSConfiguration.makeClientConfiguration()
            settings.certificateVerification = .none
            protection = .require(try NIOSSLContext(configuration: settings))
        case .verifyFull:
            var settings = TLSConfiguration.makeClientConfiguration()
            settings.certificateVerification = .fullVerification
            if let rootCertificatePath { settings.trustRoots = .file(rootCertificatePath) }
            protection = .require(try NIOSSLContext(configuration: settings))
        }
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: username, password: password, database: database, tls: protection)
        configuration.options.connectTimeout = .seconds(10)
        if tls == .verifyFull { configuration.options.tlsServerName = host }
        return configuration
    }
}
