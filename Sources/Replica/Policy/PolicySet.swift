import Foundation
import Sodium

/// The replicated tables and their conflict policies, loaded from `conflict-policies/`.
///
/// A policy set has a content hash (BLAKE2b-256 of its canonical text) that
/// nodes compare when they connect: two nodes merge only under identical policies.
public struct PolicySet: Hashable, Sendable {
    /// The tables, sorted by name.
    public let tables: [TableDeclaration]
    /// Hex BLAKE2b-256 of the canonical text of all tables.
    public let contentHash: String

    /// Creates a policy set from declarations.
    /// - Throws: ``PolicyFileError`` when two tables share a name.
    public init(tables: [TableDeclaration]) throws(PolicyFileError) {
        var seen: Set<String> = []
        for table in tables where !seen.insert(table.name).inserted {
            throw PolicyFileError(file: "<declarations>", line: 0, problem: "table '\(table.name)' is declared twice")
        }
        self.tables = tables.sorted { $0.name < $1.name }
        self.contentHash = Self.digest(self.tables.map(\.canonicalText).joined(separator: "\n\n"))
    }

    /// Parses policy text; `file` names it in errors.
    public init(parsing text: String, file: String = "<text>") throws(PolicyFileError) {
        try self.init(tables: PolicyFileParser(file: file).parse(text).map(\.0))
    }

    /// Loads every `*.policy` file in a directory (one file per table or domain area).
    /// - Throws: ``PolicyFileError`` naming the file and line of the first problem,
    ///   including a table declared in two files.
    public static func load(directory: URL) throws(PolicyFileError) -> PolicySet {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0.hasSuffix(".policy") }
                .sorted()
        } catch {
            throw PolicyFileError(file: directory.path, line: 0, problem: "cannot list the directory")
        }
        if names.isEmpty {
            throw PolicyFileError(file: directory.path, line: 0, problem: "no .policy files")
        }
        var tables: [TableDeclaration] = []
        var origins: [String: String] = [:]
        for name in names {
            let path = directory.appendingPathComponent(name).path
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw PolicyFileError(file: path, line: 0, problem: "cannot read the file as UTF-8")
            }
            for (table, line) in try PolicyFileParser(file: path).parse(text) {
                if let other = origins[table.name] {
                    throw PolicyFileError(file: path, line: line, problem: "table '\(table.name)' is already declared in \(other)")
                }
                origins[table.name] = "\(path):\(line)"
                tables.append(table)
            }
        }
        return try PolicySet(tables: tables)
    }

    /// The declaration of a table, if it is replicated.
    public func table(named name: String) -> TableDeclaration? {
        tables.first { $0.name == name }
    }

    private static func digest(_ text: String) -> String {
        Sodium.hexHash(text)
    }
}
