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

extension EnrolmentToken {
    /// What the token grants, in the form a code's redemption gives it too.
    package var grant: EnrolmentGrant {
        get throws {
            EnrolmentGrant(
                certificate: try certificate, secretKey: secretKey, clusterKey: clusterKey, central: central, policyHash: policyHash, caPEM: caPEM,
                http: httpChainPEM.flatMap { chain in httpKeyPEM.map { HTTPCertificate(chainPEM: chain, keyPEM: $0) } })
        }
    }
}

/// What a new node receives from central, by token or by code: its certificate and key, the
/// cluster key it pins, where central is, the policies, the hospital CA and its HTTPS certificate.
package struct EnrolmentGrant {
    package var certificate: NodeCertificate
    package var secretKey: [UInt8]
    package var clusterKey: [UInt8]
    package var central: String
    package var policyHash: String
    package var caPEM: String?
    package var http: HTTPCertificate?
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

    /// Creates an enrolled node in this (new) directory from what central granted (a token's
    /// contents, or a redeemed code's answer): its key, certificate and central's address, its
    /// configuration and an empty replica.
    /// - Throws: ``NodeSetupError`` when the grant was issued under other conflict policies.
    @discardableResult
    package func join(with grant: EnrolmentGrant, _ setup: NodeSetup) throws -> NodeConfiguration {
        let policySet = try setup.policies.load()
        guard grant.policyHash == policySet.contentHash else {
            throw NodeSetupError("central issued this enrolment under different conflict policies (hash \(grant.policyHash.prefix(12))…)")
        }
        _ = try prepare(setup)
        try writeSecret(grant.secretKey, to: "node.key")
        try write(grant.certificate.encoded, to: "node.cert")
        try write(grant.clusterKey, to: "cluster.pub")
        if let ca = grant.caPEM, let http = grant.http {
            try write(Array(ca.utf8), to: Self.authorityCertificateFile)
            try saveHTTPCertificate(http)
        }
        return try finish(
            NodeConfiguration(
                name: grant.certificate.name, role: grant.certificate.role.description, nodeID: grant.certificate.nodeID.description,
                listen: setup.listen, peers: [grant.central], http: setup.http, unlock: setup.unlock?.description), policySet)
    }

    /// Enrols a new node (central only): a key and a certificate signed by the cluster key, as a token.
    /// - Parameters:
    ///   - wards: the wards a ward node works for (at least one; none for other roles).
    ///   - centralAddress: how the new node reaches central (default: central's listen address).
    /// - Throws: ``NodeSetupError`` when this is not central, or the role and wards do not fit.
    ///   - httpNames: host names and addresses tablets reach the node's HTTPS at (`localhost`,
    ///     `127.0.0.1` and the node's name are always added).
    package func enrol(
        name: String, role: NodeRole, wards: [String], centralAddress: String?, validDays: Int, httpNames: [String] = [],
        validMilliseconds: UInt64? = nil
    ) throws -> (token: EnrolmentToken, nodeID: NodeID) {
        try checkEnrolment(name: name, role: role, wards: wards, validDays: validDays)
        let configuration = try configuration()
        let cluster = try SigningKey(secretKey: try readSecret("cluster.key"))
        let nodeKey = SigningKey(), nodeID = NodeID.random()
        let certificate = try NodeCertificate.issue(
            nodeID: nodeID, role: role, name: name, publicKey: nodeKey.publicKey, wards: wards,
            by: cluster, issuedAt: SystemWallClock().now(), validFor: validMilliseconds ?? UInt64(validDays) * 86_400_000)
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
