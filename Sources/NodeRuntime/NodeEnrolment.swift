import Foundation
import Replica
import Sodium
import SyncProtocol

/// What an IT person carries from central to a new node: its key, certificate and where central is.
/// Keep it like a password: it holds the node's secret key.
package struct EnrolmentToken: Codable, Sendable {
    package var format = "suifang-enrolment-1"
    package var certificateBase64: String
    package var secretKeyBase64: String
    package var clusterKeyBase64: String
    package var central: String
    package var policyHash: String
    /// The hospital CA's certificate, and the node's HTTPS certificate chain and key it signed.
    package var caPEM: String?
    package var httpChainPEM: String?
    package var httpKeyPEM: String?

    package var certificate: NodeCertificate { get throws { try NodeCertificate(decoding: Array(Data(base64Encoded: certificateBase64) ?? Data())) } }
    package var secretKey: [UInt8] { Array(Data(base64Encoded: secretKeyBase64) ?? Data()) }
    package var clusterKey: [UInt8] { Array(Data(base64Encoded: clusterKeyBase64) ?? Data()) }

    /// Reads a token file.
    /// - Throws: ``NodeSetupError`` when the file is missing or is not a token.
    package static func read(from path: String) throws -> EnrolmentToken {
        guard let data = FileManager.default.contents(atPath: path),
            let token = try? JSONDecoder().decode(EnrolmentToken.self, from: data),
            token.format == "suifang-enrolment-1", (try? token.certificate) != nil
        else {
            throw NodeSetupError("\(path) is not a Suifang enrolment token")
        }
        return token
    }

    /// Writes the token file, readable by its owner only.
    package func write(to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: try JSONEncoder().encode(self), attributes: [.posixPermissions: 0o600]) else {
            throw NodeSetupError("cannot write \(path)")
        }
    }
}

/// Where a new node listens, and its policies: what `suifang init` is given besides its role.
package struct NodeSetup: Sendable {
    /// Where the sync listener binds, HOST:PORT.
    package var listen: String
    /// Where the HTTP API binds, HOST:PORT; none when nil.
    package var http: String?
    /// The conflict policies the node installs and loads.
    package var policies: PolicyDirectory
    /// The host names and IP addresses tablets reach central's HTTPS at (central only; an
    /// enrolled node's come from `enroll --http-name`). `localhost` and `127.0.0.1` are always added.
    package var httpNames: [String] = []
    /// Where the secret that unlocks the node's data key is; `nil` keeps the node in the clear
    /// (tests and development only: `init` asks for one or for `--no-encryption`).
    package var unlock: UnlockSource?

    package init(listen: String, http: String? = nil, policies: PolicyDirectory, unlock: UnlockSource? = nil) {
        self.listen = listen
        self.http = http
        self.policies = policies
        self.unlock = unlock
    }
}

extension NodeDirectory {
    /// Creates central in this (new) directory: the hospital's cluster key, central's key and
    /// certificate (ten years), its configuration and an empty replica.
    @discardableResult
    package func createCentral(name: String, _ setup: NodeSetup) throws -> NodeConfiguration {
        let policySet = try prepare(setup)
        let cluster = SigningKey(), nodeKey = SigningKey(), nodeID = NodeID.random()
        let certificate = try NodeCertificate.issue(
            nodeID: nodeID, role: .central, name: name, publicKey: nodeKey.publicKey,
            by: cluster, issuedAt: SystemWallClock().now(), validFor: 10 * 365 * 86_400_000)
        try writeSecret(cluster.secretKeyBytes, to: "cluster.key")
        try write(cluster.publicKey, to: "cluster.pub")
        try writeSecret(nodeKey.secretKeyBytes, to: "node.key")
        let authority = try HospitalCA.create(name: name)
        try write(Array(try authority.certificatePEM.utf8), to: Self.authorityCertificateFile)
        try writeSecret(Array(authority.keyPEM.utf8), to: Self.authorityKeyFile)
        try saveHTTPCertificate(try authority.issue(node: name, names: Self.httpNames(name, setup.httpNames)))
        try write(certificate.encoded, to: "node.cert")
        return try finish(
            NodeConfiguration(
                name: certificate.name, role: "central", nodeID: nodeID.description, listen: setup.listen,
                peers: [], http: setup.http, unlock: setup.unlock?.description), policySet)
    }

    /// Creates an enrolled node in this (new) directory from central's token: its key,
    /// certificate and central's address, its configuration and an empty replica.
    /// - Throws: ``NodeSetupError`` when the token was issued under other conflict policies.
    @discardableResult
    package func join(with token: EnrolmentToken, _ setup: NodeSetup) throws -> NodeConfiguration {
        let policySet = try setup.policies.load()
        guard token.policyHash == policySet.contentHash else {
            throw NodeSetupError("the token was issued under different conflict policies (hash \(token.policyHash.prefix(12))…)")
        }
        _ = try prepare(setup)
        let certificate = try token.certificate
        try writeSecret(token.secretKey, to: "node.key")
        try write(certificate.encoded, to: "node.cert")
        try write(token.clusterKey, to: "cluster.pub")
        if let ca = token.caPEM, let chain = token.httpChainPEM, let key = token.httpKeyPEM {
            try write(Array(ca.utf8), to: Self.authorityCertificateFile)
            try saveHTTPCertificate(HTTPCertificate(chainPEM: chain, keyPEM: key))
        }
        return try finish(
            NodeConfiguration(
                name: certificate.name, role: certificate.role.description, nodeID: certificate.nodeID.description,
                listen: setup.listen, peers: [token.central], http: setup.http, unlock: setup.unlock?.description), policySet)
    }

    /// Enrols a new node (central only): a key and a certificate signed by the cluster key, as a token.
    /// - Parameters:
    ///   - wards: the wards a ward node works for (at least one; none for other roles).
    ///   - centralAddress: how the new node reaches central (default: central's listen address).
    /// - Throws: ``NodeSetupError`` when this is not central, or the role and wards do not fit.
    ///   - httpNames: host names and addresses tablets reach the node's HTTPS at (`localhost`,
    ///     `127.0.0.1` and the node's name are always added).
    package func enrol(
        name: String, role: NodeRole, wards: [String], centralAddress: String?, validDays: Int, httpNames: [String] = []
    ) throws -> (token: EnrolmentToken, nodeID: NodeID) {
        guard role != .central else { throw NodeSetupError("the role must be ward or callcenter") }
        if role == .ward, wards.isEmpty { throw NodeSetupError("a ward node works for at least one ward: add --ward WARD-ID (repeatable)") }
        if role != .ward, !wards.isEmpty { throw NodeSetupError("--ward is for ward nodes only") }
        guard validDays > 0 else { throw NodeSetupError("--valid-days must be positive") }
        let configuration = try configuration()
        guard configuration.role == "central" else { throw NodeSetupError("only central enrols nodes") }
        let cluster = try SigningKey(secretKey: try readSecret("cluster.key"))
        let nodeKey = SigningKey(), nodeID = NodeID.random()
        let certificate = try NodeCertificate.issue(
            nodeID: nodeID, role: role, name: name, publicKey: nodeKey.publicKey, wards: wards,
            by: cluster, issuedAt: SystemWallClock().now(), validFor: UInt64(validDays) * 86_400_000)
        let authority = try hospitalCA()
        let http = try authority.issue(node: name, names: Self.httpNames(name, httpNames))
        let token = EnrolmentToken(
            certificateBase64: Data(certificate.encoded).base64EncodedString(),
            secretKeyBase64: Data(nodeKey.secretKeyBytes).base64EncodedString(),
            clusterKeyBase64: Data(cluster.publicKey).base64EncodedString(),
            central: centralAddress ?? configuration.listen,
            policyHash: try policies().contentHash,
            caPEM: try authority.certificatePEM, httpChainPEM: http.chainPEM, httpKeyPEM: http.keyPEM)
        return (token, nodeID)
    }

    private func prepare(_ setup: NodeSetup) throws -> PolicySet {
        _ = try Endpoint(setup.listen)
        if let http = setup.http { _ = try Endpoint(http) }
        let policySet = try setup.policies.load()
        try create()
        try installPolicies(from: URL(fileURLWithPath: setup.policies.resolvedPath))
        if let unlock = setup.unlock { try sealDataKey(unlock) }
        return policySet
    }

    /// A fresh data key for a new node, sealed under the unlock secret in `replica.key`; a key file
    /// that does not exist yet is created first.
    private func sealDataKey(_ unlock: UnlockSource) throws {
        if case .keyFile(let path) = unlock { try UnlockSource.createKeyFile(at: path) }
        var secret = try unlock.secret()
        defer { Sodium.wipe(&secret) }
        let (vault, envelope) = try NodeVault.create(secret: secret, passphrase: unlock.isPassphrase)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try write(Array(try encoder.encode(envelope)), to: NodeVault.envelopeFile, secret: true)
        vaultCache.store(vault)
    }

    private func finish(_ configuration: NodeConfiguration, _ policySet: PolicySet) throws -> NodeConfiguration {
        try save(configuration)
        _ = try openReplica(policies: policySet, identity: try identity(), logger: quietLogger)
        return configuration
    }
}
