import Benchmarks
import Testnets
import NodeHTTP
import NodeRuntime
import ArgumentParser
import Foundation
import Replica
import SyncProtocol

/// `suifang init`: a new node. Central creates the hospital's cluster key; any other node
/// joins with the one token file central's `enroll` produced.
struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a node: its identity, configuration and empty replica.",
        discussion: """
            Central:   suifang init --role central --name central --dir DIR --listen 0.0.0.0:7400
            Other:     suifang init --token ward-5a.token --dir DIR --listen 0.0.0.0:7401
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
    @OptionGroup var policies: PolicyOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
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
        let policySet = try policies.load()
        try directory.create()
        try directory.installPolicies(from: URL(fileURLWithPath: policies.resolvedPath))
        let configuration: NodeConfiguration
        if let token {
            let enrolment = try EnrolmentToken.read(from: token)
            guard enrolment.policyHash == policySet.contentHash else {
                throw ValidationError("the token was issued under different conflict policies (hash \(enrolment.policyHash.prefix(12))…)")
            }
            let certificate = try enrolment.certificate
            try directory.write(enrolment.secretKey, to: "node.key", secret: true)
            try directory.write(certificate.encoded, to: "node.cert")
            try directory.write(enrolment.clusterKey, to: "cluster.pub")
            configuration = NodeConfiguration(name: certificate.name, role: certificate.role.description,
                                              nodeID: certificate.nodeID.description, listen: listen, peers: [enrolment.central], http: http)
        } else {
            let cluster = SigningKey(), nodeKey = SigningKey(), nodeID = NodeID.random()
            let certificate = try NodeCertificate.issue(nodeID: nodeID, role: .central, name: name ?? "central", publicKey: nodeKey.publicKey,
                                                        by: cluster, issuedAt: SystemWallClock().now(), validFor: 10 * 365 * 86_400_000)
            try directory.write(cluster.secretKeyBytes, to: "cluster.key", secret: true)
            try directory.write(cluster.publicKey, to: "cluster.pub")
            try directory.write(nodeKey.secretKeyBytes, to: "node.key", secret: true)
            try directory.write(certificate.encoded, to: "node.cert")
            configuration = NodeConfiguration(name: certificate.name, role: "central", nodeID: nodeID.description, listen: listen, peers: [], http: http)
        }
        try directory.save(configuration)
        let identity = try directory.identity()
        _ = try directory.openReplica(policies: policySet, identity: identity, logger: quietLogger)
        if output.json {
            printJSON(["name": configuration.name, "role": configuration.role, "nodeId": configuration.nodeID,
                       "listen": configuration.listen, "peers": configuration.peers, "policyHash": policySet.contentHash])
        } else {
            print("initialised \(configuration.role) node '\(configuration.name)' (\(configuration.nodeID)) in \(directory.url.path)")
            print("sync listener: \(configuration.listen); peers: \(configuration.peers.isEmpty ? "none" : configuration.peers.joined(separator: ", "))")
        }
    }
}

/// What an IT person carries from central to a new node: its key, certificate and where central is.
/// Keep it like a password: it holds the node's secret key.
struct EnrolmentToken: Codable {
    var format = "suifang-enrolment-1"
    var certificateBase64: String
    var secretKeyBase64: String
    var clusterKeyBase64: String
    var central: String
    var policyHash: String

    var certificate: NodeCertificate { get throws { try NodeCertificate(decoding: Array(Data(base64Encoded: certificateBase64) ?? Data())) } }
    var secretKey: [UInt8] { Array(Data(base64Encoded: secretKeyBase64) ?? Data()) }
    var clusterKey: [UInt8] { Array(Data(base64Encoded: clusterKeyBase64) ?? Data()) }

    static func read(from path: String) throws -> EnrolmentToken {
        guard let data = FileManager.default.contents(atPath: path),
              let token = try? JSONDecoder().decode(EnrolmentToken.self, from: data),
              token.format == "suifang-enrolment-1", (try? token.certificate) != nil else {
            throw ValidationError("\(path) is not a Suifang enrolment token")
        }
        return token
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
    @Option(name: .customLong("ward"), help: "A ward the node works for, e.g. W-CARD-1 (repeat for each; a ward node needs at least one). It writes admissions, tasks, surveys and opinions only for these wards.")
    var wards: [String] = []
    @Option(help: "Where the token goes.")
    var out: String
    @Option(help: "How central is reached from the new node, HOST:PORT (default: central's listen address).")
    var centralAddress: String?
    @Option(help: "Certificate validity in days.")
    var validDays = 365
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard let role = NodeRole(name: role), role != .central else { throw ValidationError("--role must be ward or callcenter") }
        if role == .ward, wards.isEmpty { throw ValidationError("a ward node works for at least one ward: add --ward WARD-ID (repeatable)") }
        if role != .ward, !wards.isEmpty { throw ValidationError("--ward is for ward nodes only") }
        guard validDays > 0 else { throw ValidationError("--valid-days must be positive") }
    }

    func run() throws {
        let directory = NodeDirectory(dir)
        let configuration = try directory.configuration()
        guard configuration.role == "central" else { throw ValidationError("only central enrols nodes") }
        let cluster = try SigningKey(secretKey: try directory.read("cluster.key"))
        let nodeKey = SigningKey(), nodeID = NodeID.random()
        let certificate = try NodeCertificate.issue(nodeID: nodeID, role: NodeRole(name: role)!, name: name, publicKey: nodeKey.publicKey,
                                                    wards: wards, by: cluster, issuedAt: SystemWallClock().now(), validFor: UInt64(validDays) * 86_400_000)
        let token = EnrolmentToken(certificateBase64: Data(certificate.encoded).base64EncodedString(),
                                   secretKeyBase64: Data(nodeKey.secretKeyBytes).base64EncodedString(),
                                   clusterKeyBase64: Data(cluster.publicKey).base64EncodedString(),
                                   central: centralAddress ?? configuration.listen,
                                   policyHash: try directory.policies().contentHash)
        guard FileManager.default.createFile(atPath: out, contents: try JSONEncoder().encode(token), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(out)")
        }
        if output.json {
            printJSON(["name": name, "role": role, "nodeId": nodeID.description, "token": out, "wards": wards.joined(separator: ",")])
        } else {
            print("enrolled \(role) '\(name)' (\(nodeID))\(wards.isEmpty ? "" : " for wards " + wards.joined(separator: ", ")); token written to \(out) — carry it to the node and run: suifang init --token \(out) --dir DIR")
        }
    }
}
