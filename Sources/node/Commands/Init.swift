import ArgumentParser
import Benchmarks
import Foundation
import NodeHTTP
import NodeRuntime
import Replica
import SyncProtocol
import Testnets

/// `suifang init`: a new node. Central creates the hospital's cluster key; any other node
/// joins with the one-time code central's `enroll` printed (or, offline, a token file).
struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a node: its identity, configuration and empty replica.",
        discussion: """
            Central:   suifang init --role central --name central --dir DIR --listen 0.0.0.0:7400 --unlock file:/media/key/central.key
            Other:     suifang init --enrol K7QF-M2XA-9PZD-4HRT --central central.hospital.lan:7400 --dir DIR --listen 0.0.0.0:7401 --unlock file:/media/key/ward-5a.key
            Offline:   suifang init --token ward-5a.token --dir DIR --listen 0.0.0.0:7401 --unlock file:/media/key/ward-5a.key

            With --enrol the node makes its own keys, sends central a signing request authenticated by
            the code, and pins the cluster key from central's answer; the code then is used up.
            --enrol on a directory that already holds a node (its certificate expired while it was
            offline) re-enrols it: same key, id and replica, a new certificate; the node must be stopped.

            The replica and the node's secret keys are encrypted under a data key, itself sealed under
            the unlock secret (a key file, created when missing; a systemd credential; or a passphrase).
            node.json records where the secret is, never the secret.
            """)

    @Option(help: "central (creates the cluster key). Other roles join with --enrol (or --token).")
    var role: String?
    @Option(help: "The node's name (central only; enrolled nodes take theirs from the token).")
    var name: String?
    @Option(help: "The one-time enrolment code `suifang enroll` printed on central.")
    var enrol: String?
    @Option(help: "Central's sync address, HOST:PORT (with --enrol).")
    var central: String?
    @Option(help: "An enrolment token file from `suifang enroll --out` on central (offline enrolment).")
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

    /// `--enrol` on a directory that holds a node: re-enrolment, keeping its key, id and replica.
    var reenrols: Bool { enrol != nil && NodeDirectory(dir).exists }

    func validate() throws {
        if unlock.unlock == nil, !noEncryption, !reenrols {
            throw ValidationError("give --unlock file:PATH, credential:NAME or prompt (the replica is encrypted), or --no-encryption")
        }
        if unlock.unlock != nil, noEncryption { throw ValidationError("--unlock and --no-encryption contradict each other") }
        _ = try unlock.source()
        let joins = [token, enrol].compactMap { $0 }.count
        if joins == 0, role != "central" {
            throw ValidationError("give --role central (a new cluster), or --enrol CODE --central HOST:PORT (join one)")
        }
        if joins > 1 { throw ValidationError("give --enrol or --token, not both") }
        if joins == 1, role != nil || name != nil {
            throw ValidationError("central names the node and its role at enrolment; do not also give --role or --name")
        }
        if enrol != nil {
            guard let central else { throw ValidationError("--enrol needs --central HOST:PORT (central's sync address)") }
            _ = try Endpoint(central)
        } else if central != nil {
            throw ValidationError("--central goes with --enrol")
        }
        _ = try Endpoint(listen)
        if let http { _ = try Endpoint(http) }
    }

    func run() async throws {
        if reenrols, let enrol, let central {
            let certificate = try await NodeDirectory(dir, unlock: try unlock.source()).reenrol(code: enrol, central: central)
            let expiry = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(certificate.expiresAt) / 1000))
            if output.json {
                printJSON(["name": certificate.name, "role": certificate.role.description, "nodeId": certificate.nodeID.description, "expiresAt": expiry, "reenrolled": true])
            } else {
                print("re-enrolled \(certificate.role) node '\(certificate.name)' (\(certificate.nodeID)) in \(dir), replica kept; certificate valid until \(expiry)")
            }
            return
        }
        let directory = NodeDirectory(dir)
        var setup = NodeSetup(listen: listen, http: http, policies: policies.policyDirectory, unlock: try unlock.source())
        setup.httpNames = httpNames
        let configuration =
            if let enrol, let central {
                try await directory.join(code: enrol, central: central, setup)
            } else if let token {
                try directory.join(with: try EnrolmentToken.read(from: token).grant, setup)
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

/// `suifang enroll` (central): a one-time code for a new node (or, with `--out`, a token file that
/// carries a key made by central, for a node that cannot reach central when it is set up).
struct Enroll: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Enrol a new node (run on central): prints a one-time code for `suifang init --enrol`.",
        discussion: """
            The code is 16 letters and digits, works once, for the name, role and wards given here, until it
            expires (--code-hours, 4 by default). Three requests that name it but were not made with it
            destroy it. --json prints {"code": …, "expiresAt": …}.
            """)

    @Option(help: "Central's data directory.")
    var dir: String
    @Option(help: "The new node's name, e.g. ward-5a.")
    var name: String
    @Option(help: "ward or callcenter.")
    var role: String
    @Option(
        name: .customLong("ward"),
        help:
            "A ward the node works for, e.g. W-CARD-1: up to 32 ASCII letters, digits, '.', '_', ':', '-' (repeat for each; a ward node needs at least one). It writes admissions, tasks, surveys and opinions only for these wards."
    )
    var wards: [String] = []
    @Option(help: "Write a token file instead of printing a code (offline enrolment: the file holds the node's key).")
    var out: String?
    @Option(help: "How long the code works, in hours (at most 72).")
    var codeHours = NodeDirectory.defaultCodeHours
    @Option(help: "How central is reached from the new node, HOST:PORT (default: central's listen address).")
    var centralAddress: String?
    @Option(help: "Certificate validity in days.")
    var validDays = 365
    /// Tests only: a certificate that expires within seconds (with --out).
    @Option(help: .hidden) var validSeconds: Int?
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
        guard let out else { return try issueCode() }
        let (token, nodeID) = try NodeDirectory(dir, unlock: try unlock.source()).enrol(
            name: name, role: NodeRole(name: role)!, wards: wards,
            centralAddress: centralAddress, validDays: validDays, httpNames: httpNames, validMilliseconds: validSeconds.map { UInt64(min(max(1, $0), 86_400)) * 1000 })
        try token.write(to: out)
        if output.json {
            printJSON(["name": name, "role": role, "nodeId": nodeID.description, "token": out, "wards": wards.joined(separator: ",")])
        } else {
            print(
                "enrolled \(role) '\(name)' (\(nodeID))\(wards.isEmpty ? "" : " for wards " + wards.joined(separator: ", ")); token written to \(out) — carry it to the node and run: suifang init --token \(out) --dir DIR"
            )
        }
    }

    private func issueCode() throws {
        let directory = NodeDirectory(dir, unlock: try unlock.source())
        let (code, expiresAt) = try directory.issueEnrolmentCode(
            name: name, role: NodeRole(name: role)!, wards: wards, validDays: validDays, httpNames: httpNames,
            hours: codeHours, now: SystemWallClock().now())
        let expiry = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(expiresAt) / 1000))
        if output.json {
            printJSON(["code": code, "expiresAt": expiry, "name": name, "role": role, "wards": wards.joined(separator: ",")])
        } else {
            let central = try centralAddress ?? directory.configuration().listen
            print("enrolment code for \(role) '\(name)'\(wards.isEmpty ? "" : " (wards " + wards.joined(separator: ", ") + ")"): \(code)")
            print("it works once, until \(expiry). On the new node run:")
            print("  suifang init --enrol \(code) --central \(central) --dir DIR --listen HOST:PORT --unlock file:/media/key/\(name).key")
        }
    }
}
