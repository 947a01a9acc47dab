import Archive
import ArgumentParser
import Foundation
import Logging

/// `suifang archive …`: the hospital group's archive on PostgreSQL, administered.
struct ArchiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive", abstract: "Administer the hospital group's archive on PostgreSQL.", subcommands: [ArchiveSetupCommand.self])
}

/// `suifang archive setup`: one hospital's place in the archive, for the role its central uses.
struct ArchiveSetupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "Register a hospital in the group archive for the PostgreSQL role its central connects as.",
        discussion: """
            Connect as the role that owns the archive (the group's administrator). Creates the schema, the             tables partitioned by hospital and the group's views (or what this release adds), registers             the hospital for --role, creates its partitions and grants --role exactly those: that central             can then write its own hospital's rows and read or change no other's. Create the role first             (CREATE ROLE name LOGIN PASSWORD …, or a client certificate). The password may come from             SUIFANG_ARCHIVE_PASSWORD. Safe to run again; with another --role the hospital moves to it.
            """)

    @Option(help: "The archive, as its owner: postgres://ADMIN@HOST[:PORT]/DATABASE[?sslmode=…].")
    var archive: String
    @Option(help: "The hospital's name in the archive (its central's --archive-hospital).")
    var hospital: String
    @Option(help: "The PostgreSQL role that hospital's central connects as.")
    var role: String
    @Option(help: "A PostgreSQL role that may read every hospital's tables and the views (BI tools, the group office).")
    var reader: String?
    @OptionGroup var policies: PolicyOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        var logger = Logger(label: "suifang.archive")
        logger.logLevel = .error
        let partitions: [String]
        do {
            partitions = try await ArchiveSetup.run(
                target: try ArchiveTarget(url: archive), policies: try policies.load(), hospital: hospital, role: role, reader: reader, logger: logger)
        } catch let error as ArchiveError {
            throw CommandFailure(error.description)
        }
        if output.json {
            printJSON(["hospital": hospital, "role": role, "partitions": partitions.joined(separator: ",")])
        } else {
            print("hospital '\(hospital)' archives as role '\(role)' into \(partitions.count) partitions (\(partitions.first ?? "")…)")
        }
    }
}
