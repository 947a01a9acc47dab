import Foundation
import Logging
import Replica
import Sodium
import SyncProtocol

/// `suifang restore`: a node's directory again from a ``BackupArchive``, under a new origin id.
///
/// A backup is older than the node it was taken from: the node went on committing. Had the
/// restored node gone on numbering its commits where the backup stopped, it would reuse numbers
/// its peers already hold (with other contents), and their next sync would skip its new commits.
/// So a restored node takes a new id, with a certificate for it:
/// - central issues its own (it holds the cluster key);
/// - a ward or call-center node redeems a one-time code (`suifang enroll` on central, for the same
///   name, role and wards) or carries a token, exactly as a new node would.
/// The commits it made under the old id stay in its replica as another origin's, and the ones it
/// made after the backup come back from the peers that received them.
extension NodeDirectory {
    /// Where a restored ward or call-center node's new certificate comes from (central needs none).
    package enum RestoredIdentity: Sendable {
        /// Central issues it itself.
        case central
        /// A one-time code redeemed at central's sync address.
        case code(String, central: String)
        /// A token file from `suifang enroll --out`.
        case token(EnrolmentToken)
    }

    /// What a restore did.
    package struct RestoreReport: Sendable {
        package var manifest: BackupManifest
        package var previousID: NodeID
        package var newID: NodeID
        /// Whether the backup was sealed under the node's data key (and so authenticated).
        package var encrypted: Bool
    }

    /// Restores the backup at `archive` into this directory (which must not hold anything yet).
    /// Nothing is left behind when it fails: the directory is removed again.
    /// - Parameters:
    ///   - identity: where the new certificate comes from (``RestoredIdentity/central`` only for central).
    ///   - allowUnencrypted: whether a backup in the clear (of a `--no-encryption` node) may be
    ///     restored. Such a backup cannot be authenticated, so it is refused unless asked for, and
    ///     always when an unlock secret is given: whoever swaps an encrypted backup for one in the
    ///     clear must not get a node that trusts what they wrote.
    /// - Throws: ``NodeSetupError`` when the directory is in use, the archive is not a whole, unaltered
    ///   backup, the unlock secret does not open it, or the new certificate is not for this node.
    package func restore(from archive: String, identity: RestoredIdentity, allowUnencrypted: Bool = false, now: UInt64) async throws -> RestoreReport {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) {
            guard isFolder.boolValue, (try? FileManager.default.contentsOfDirectory(atPath: url.path))?.isEmpty == true else {
                throw NodeSetupError("\(url.path) is not an empty directory: restore into a new one (move the old one aside first)")
            }
        }
        let reader = try BackupArchiveReader(path: archive)
        defer { reader.close() }
        let (envelope, sealedManifest) = try reader.readHeader()
        try create()
        do {
            let manifest = try openManifest(envelope: envelope, sealedManifest, archive: archive, allowUnencrypted: allowUnencrypted)
            for file in manifest.files {
                if file.name.hasPrefix("policies/") {
                    try FileManager.default.createDirectory(at: policiesDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                }
                try reader.extract(file, to: self.file(file.name))
            }
            guard try reader.isAtEnd() else { throw NodeSetupError("\(archive) has bytes after its last file: it was altered") }
            if let unlockOverride {
                var configuration = try configuration()
                configuration.unlock = unlockOverride.description
                try save(configuration)
            }
            let (previous, new) = try await takeNewIdentity(identity, now: now)
            return RestoreReport(manifest: manifest, previousID: previous, newID: new, encrypted: !envelope.isEmpty)
        } catch {
            try? FileManager.default.removeItem(at: url)
            throw error
        }
    }

    /// Reads the manifest: in the clear, or opened under the data key the envelope holds.
    private func openManifest(envelope: [UInt8], _ sealed: [UInt8], archive: String, allowUnencrypted: Bool) throws -> BackupManifest {
        var manifestBytes = sealed
        let unlockGiven = try givenUnlockSource() != nil
        if envelope.isEmpty {
            guard !unlockGiven else {
                throw NodeSetupError(
                    "\(archive) is not encrypted, but an unlock secret was given: it is not the backup of an encrypted node, or it was replaced. Refused."
                )
            }
            guard allowUnencrypted else {
                throw NodeSetupError(
                    "\(archive) is not encrypted, so nothing proves it unaltered: restore it only if it is the backup of a --no-encryption node you made yourself, with --allow-unencrypted"
                )
            }
        } else {
            try write(envelope, to: NodeVault.envelopeFile, secret: true)
            guard unlockGiven else {
                throw NodeSetupError("the backup is encrypted: give --unlock with the node's unlock secret (file:PATH, credential:NAME or prompt)")
            }
            guard let vault = try vault() else { throw NodeSetupError("the backup's data key cannot be read") }
            do {
                manifestBytes = try vault.open(sealed, as: BackupArchive.manifestContext)
            } catch {
                throw NodeSetupError("\(archive)'s manifest does not open under its data key: the backup was altered")
            }
        }
        guard let manifest = try? JSONDecoder().decode(BackupManifest.self, from: Data(manifestBytes)), manifest.format == 1 else {
            throw NodeSetupError("\(archive) has no readable manifest: not a Suifang backup")
        }
        let names = manifest.files.map(\.name)
        guard names.count <= BackupArchive.maximumFiles, Set(names).count == names.count, names.allSatisfy(BackupManifest.isSafe),
            names.contains("node.json"), names.contains("node.cert"), names.contains("replica.sqlite"), !names.contains(NodeVault.envelopeFile)
        else {
            throw NodeSetupError("\(archive)'s manifest lists files a node directory cannot hold: the backup was altered")
        }
        return manifest
    }

    /// A certificate for a new id, the replica's own commits moved to the old id, node.json updated.
    private func takeNewIdentity(_ source: RestoredIdentity, now: UInt64) async throws -> (previous: NodeID, new: NodeID) {
        let old = try identity()
        var configuration = try configuration()
        let certificate: NodeCertificate
        var newKey: SigningKey?
        switch (source, old.certificate.role) {
        case (.central, .central):
            // A new key too: the old one lies in every copy of the backup.
            let cluster = try SigningKey(secretKey: try readSecret("cluster.key")), key = SigningKey()
            certificate = try NodeCertificate.issue(
                nodeID: NodeID.random(), role: .central, name: old.certificate.name, publicKey: key.publicKey,
                by: cluster, issuedAt: Self.backdated(now), validFor: 10 * 365 * 86_400_000)
            newKey = key
        case (.central, _):
            throw NodeSetupError(
                "a restored \(old.certificate.role) node needs a new certificate from central: give --enrol CODE --central HOST:PORT (suifang enroll on central, same name, role and wards) or --token FILE"
            )
        case (_, .central):
            throw NodeSetupError("central restores on its own: give neither --enrol nor --token")
        case (.code(let code, let central), _):
            let key = SigningKey()
            let (answer, http) = try await redeem(code, at: central, key: key, policyHash: try policies().contentHash)
            try checkSameNode(answer.certificate, clusterKey: answer.clusterKey, as: old)
            try writeSecret(key.secretKeyBytes, to: "node.key")
            try write(Array(http.authorityPEM.utf8), to: Self.authorityCertificateFile)
            try saveHTTPCertificate(http.certificate)
            certificate = answer.certificate
            if configuration.peers.first != central { configuration.peers = [central] + configuration.peers.filter { $0 != central } }
        case (.token(let token), _):
            let grant = try token.grant
            try checkSameNode(grant.certificate, clusterKey: grant.clusterKey, as: old)
            guard grant.policyHash == (try policies().contentHash) else {
                throw NodeSetupError("the token was issued under other conflict policies than the backup's (hash \(grant.policyHash.prefix(12))…)")
            }
            try writeSecret(grant.secretKey, to: "node.key")
            if let ca = grant.caPEM, let http = grant.http {
                try write(Array(ca.utf8), to: Self.authorityCertificateFile)
                try saveHTTPCertificate(http)
            }
            certificate = grant.certificate
        }
        let previous = try replicaFile().transferOrigin(to: certificate.nodeID, from: CertificateTrust(identity: old))
        if let newKey { try writeSecret(newKey.secretKeyBytes, to: "node.key") }
        try write(certificate.encoded, to: "node.cert")
        configuration.nodeID = certificate.nodeID.description
        try save(configuration)
        // The restored node opens as itself: the new key signs, the replica is its own.
        let replica = try openReplica(policies: try policies(), identity: try identity(), logger: quietLogger)
        try replica.purgeRowsAuthoredElsewhere()
        return (previous, certificate.nodeID)
    }

    /// A restored node's new certificate must be for the same node in the same cluster, under a new id.
    private func checkSameNode(_ certificate: NodeCertificate, clusterKey: [UInt8], as old: NodeIdentity) throws {
        guard clusterKey == old.clusterKey else { throw NodeSetupError("the new certificate comes from another cluster than the backup's node") }
        // Byte for byte, as the wards are compared everywhere else.
        guard certificate.name.isSameID(as: old.certificate.name), certificate.role == old.certificate.role,
            certificate.wards.map(ExactText.init).sorted() == old.certificate.wards.map(ExactText.init).sorted()
        else {
            throw NodeSetupError(
                "the new certificate is for '\(certificate.name)' (\(certificate.role)), the backup holds '\(old.certificate.name)' (\(old.certificate.role)): enrol the same name, role and wards"
            )
        }
        guard certificate.nodeID != old.certificate.nodeID else {
            throw NodeSetupError("the new certificate keeps the old node id: issue a new code (not a re-enrolment) for the restored node")
        }
    }
}
