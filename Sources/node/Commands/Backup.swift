import ArgumentParser
import Foundation
import NodeRuntime
import Replica
import SyncProtocol

/// `suifang backup`: the node's directory, with a consistent snapshot of its replica, as one file,
/// while the node runs.
struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Back up a node into one file, while it runs.",
        discussion: """
            The replica is copied with SQLite's online backup: one consistent moment, while the node goes on
            working. The file holds the node's whole directory; an encrypted node's pages and keys stay
            sealed under its data key, and the file is refused on restore if any byte of it was changed.
            Keep it, and the unlock secret, apart from the node. Restore it with `suifang restore`.
            """)

    @Option(help: "The node's data directory.")
    var dir: String
    @Option(help: "The backup file to write (it must not exist).")
    var out: String
    @OptionGroup var unlock: UnlockOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let report = try NodeDirectory(dir, unlock: try unlock.source()).backup(to: out, now: SystemWallClock().now())
        if output.json {
            printJSON([
                "path": report.path, "bytes": report.bytes, "pages": report.pages, "encrypted": report.encrypted,
                "node": report.manifest.node, "nodeId": report.manifest.nodeID, "files": report.manifest.files.count,
            ])
        } else {
            print(
                "backed up \(report.manifest.role) node '\(report.manifest.node)' to \(report.path): \(report.manifest.files.count) files, \(report.bytes) bytes, replica of \(report.pages) pages\(report.encrypted ? ", encrypted under its data key" : " (NOT encrypted: the node is in the clear)")"
            )
        }
    }
}

/// `suifang restore`: a node from a backup, under a new node id.
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a node from a backup into a new directory, under a new node id.",
        discussion: """
            A restored node never reuses the commit numbers of the node it was backed up from: it takes a new
            node id. Central issues itself a certificate for it; a ward or call-center node needs a one-time
            code from central (suifang enroll --name, --role and --ward as before) or a token. What the node
            wrote after the backup and had synced comes back from its peers when it starts.
            """)

    @Option(help: "The backup file.")
    var from: String
    @Option(help: "The directory to restore into (new or empty).")
    var dir: String
    @Option(help: "A one-time enrolment code for the restored node (ward and call-center nodes).")
    var enrol: String?
    @Option(help: "Central's sync address, HOST:PORT (with --enrol).")
    var central: String?
    @Option(help: "An enrolment token file instead of a code (suifang enroll --out on central).")
    var token: String?
    @Flag(help: "Restore a backup that is not encrypted (of a --no-encryption node): nothing can prove it unaltered.")
    var allowUnencrypted = false
    @OptionGroup var unlock: UnlockOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if enrol != nil, token != nil { throw ValidationError("give --enrol or --token, not both") }
        if enrol != nil {
            guard let central else { throw ValidationError("--enrol needs --central HOST:PORT (central's sync address)") }
            _ = try Endpoint(central)
        } else if central != nil {
            throw ValidationError("--central goes with --enrol")
        }
        _ = try unlock.source()
    }

    func run() async throws {
        let identity: NodeDirectory.RestoredIdentity =
            if let enrol, let central {
                .code(enrol, central: central)
            } else if let token {
                .token(try EnrolmentToken.read(from: token))
            } else {
                .central
            }
        let report = try await NodeDirectory(dir, unlock: try unlock.source()).restore(
            from: from, identity: identity, allowUnencrypted: allowUnencrypted, now: SystemWallClock().now())
        let taken = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(report.manifest.createdAt) / 1000))
        if output.json {
            printJSON([
                "node": report.manifest.node, "role": report.manifest.role, "previousNodeId": report.previousID.description,
                "nodeId": report.newID.description, "backupTakenAt": taken, "dir": dir, "encrypted": report.encrypted,
            ])
        } else {
            print(
                "restored \(report.manifest.role) node '\(report.manifest.node)' from the backup of \(taken) into \(dir)\(report.encrypted ? " (encrypted, authenticated under its data key)" : " (NOT encrypted: unauthenticated)")"
            )
            print("it is node \(report.newID) now (it was \(report.previousID)): start it with suifang serve --dir \(dir); its peers send back what it lacks")
        }
    }
}
