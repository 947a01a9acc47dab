import ArgumentParser
import Benchmarks
import Foundation
import NodeHTTP
import NodeRuntime
import Replica
import SyncProtocol
import Testnets

/// `suifang init`: a new node. Central creates the hospital's cluster key; any other node
/// joins with the one token file central's `enroll` produced.
struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a node: its identity, configuration and empty replica.",
        discussion: """
            Central:   suifang init --role central --name central --dir DIR --listen 0.0.0.0:7400 --unlock file:/media/key/central.key
            Other:     suifang init --token ward-5a.token --dir DIR --listen 0.0.0.0:7401 --unlock file:/media/key/ward-5a.key

            The replica and the node's secret keys are encrypted under a data key, itself sealed under
            the unlock secret (a key file, created when missing; a systemd credential; or a passphrase).
            node.json records where the secret is, never the secret.
            """)

    @Option(help: "central (creates the cluster key). Other roles join with --token.")
    var role: String?
    @Option(help: "The node's name (central only; enrolled nodes take theirs from the token).")
    var name: String?
    @Option(help: "An enrolment token from `suifang enroll` on central.")
    var token: String?
    @Option(help: "The node's data directory.")
    var dir: String
    @Option(help: "Where the sync listener binds, HOST:PORT.")
    var listen = "127.0.0.1:7400"
    @Option(help: "Where the HTTP API binds, HOST:PORT (none by default).")
    var http: String?
    @Option(
        name: .customLong("http-name"),
        help: "A host name or IP address tablets reach central's HTTPS at (repeat; central only; localhost and 127.0.0.1 are always in).")
    var httpNames: [String] = []
    @OptionGroup var policies: PolicyOptions
    @OptionGroup var unlock: UnlockOptions
    @Flag(help: "Keep the replica and keys in the clear (development only).")
    var noEncryption = false
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if unlock.unlock == nil, !noEncryption {
            throw ValidationError("give --unlock file:PATH, credential:NAME or prompt (the replica is encrypted), or --no-encryption")
        }
        if unlock.unlock != nil, noEncryption { throw ValidationError("--unlock and --no-encryption contradict each other") }
        _ = try unlock.source()
        if token == nil, role != "central" {
            throw ValidationError("give --role central (a new cluster) or --token FILE (join one)")
        }
        if token != nil, role != nil || name != nil {
            throw ValidationError("--token carries the role and name; do not also give --role or --name")
        }
        _ = try Endpoint(listen)
        if let http { _ = try Endpoint(http) }
    }

    func run() throws {
        let directory = NodeDirectory(dir)
        var setup = NodeSetup(listen: listen, http: http, policies: policies.policyDirectory, unlock: try unlock.source())
        setup.httpNames = httpNames
        let configuration =
            if let token {
                try directory.join(with: try EnrolmentToken.read(from: token), setup)
            } else {
                try directory.createCentral(name: name ?? "central", setup)
            }
        if output.json {
            printJSON([
                "name": configuration.name, "role": configuration.role, "nodeId": configuration.nodeID,
                "listen": configuration.listen, "peers": configuration.peers, "policyHash": try policies.load().contentHash,
            ])
        } else {
            print("initialised \(configuration.role) node '\(configuration.name)' (\(configuration.nodeID)) in \(directory.url.path)")
            print("sync listener: \(configuration.listen); peers: \(configuration.peers.isEmpty ? "none" : configuration.peers.joined(separator: ", "))")
            print(configuration.unlock.map { "encrypted at rest; unlock secret: \($0)" } ?? "NOT encrypted at rest (--no-encryption)")
            print("HTTPS certificate from the hospital CA; tablets trust \(directory.file(NodeDirectory.authorityCertificateFile).path)")
        }
    }
}

/// `suifang enroll` (central): issues a certificate and key for a new node, as one token file.
struct Enroll: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Enrol a new node (run on central); writes its token file.")

    @Option(help: "Central's data directory.")
    var dir: String
    @Option(help: "The new node's name, e.g. ward-5a.")
    var name: String
    @Option(help: "ward or callcenter.")
    var role: String
    @Option(
        name: .customLong("ward"),
        help: "A ward the node works for, e.g. W-CARD-1 (repeat for each; a ward node needs at least one). It writes admissions, tasks, surveys and opinions only for these wards.")
    var wards: [String] = []
    @Option(help: "Where the token goes.")
    var out: String
    @Option(help: "How central is reached from the new node, HOST:PORT (default: central's listen address).")
    var centralAddress: String?
    @Option(help: "Certificate validity in days.")
    var validDays = 365
    @Option(
        name: .customLong("http-name"),
        help: "A host name or IP address tablets reach the node's HTTPS at (repeat; the node's name, localhost and 127.0.0.1 are always in).")
    var httpNames: [String] = []
    @OptionGroup var unlock: UnlockOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard let role = NodeRole(name: role), role != .central else { throw ValidationError("--role must be ward or callcenter") }
    }

    func run() throws {
        let (token, nodeID) = try NodeDirectory(dir, unlock: try unlock.source()).enrol(
            name: name, role: NodeRole(name: role)!, wards: wards,
            centralAddress: centralAddress, validDays: validDays, httpNames: httpNames)
        try token.write(to: out)
        if output.json {
            printJSON(["name": name, "role": role, "nodeId": nodeID.description, "token": out, "wards": wards.joined(separator: ",")])
        } else {
            print(
                "enrolled \(role) '\(name)' (\(nodeID))\(wards.isEmpty ? "" : " for wards " + wards.joined(separator: ", ")); token written to \(out) — carry it to the node and run: suifang init --token \(out) --dir DIR"
            )
        }
    }
}
