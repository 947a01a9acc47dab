import Crypto
import Foundation
import SwiftASN1
import X509

#if canImport(Glibc)
import Glibc
#endif

/// The hospital's certificate authority for the nodes' HTTPS: a P-256 key and a self-signed
/// certificate central makes at `init` (`ca.pem`, public, for the tablets to trust; `ca.key`,
/// sealed under central's data key). It signs each node's HTTP certificate with the node's names
/// and addresses. A hospital with its own PKI gives `serve --tls-cert/--tls-key` instead.
package struct HospitalCA {
    package let certificate: Certificate
    private let key: P256.Signing.PrivateKey

    /// How long the CA certificate lasts, and a node's HTTP certificate.
    package static let authorityValidity: TimeInterval = 10 * 365 * 86_400
    package static let nodeValidity: TimeInterval = 397 * 86_400

    /// A new authority named after the hospital's central node.
    package static func create(name: String) throws -> HospitalCA {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("Suifang hospital CA")
            CommonName("Suifang CA \(name)")
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(authorityValidity),
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: Certificate.PublicKey(key.publicKey))
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        return HospitalCA(certificate: certificate, key: key)
    }

    /// The authority from its PEM files.
    /// - Throws: ``NodeSetupError`` when they are not a P-256 CA certificate and its key.
    package init(certificatePEM: String, keyPEM: String) throws {
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
            key = try P256.Signing.PrivateKey(pemRepresentation: keyPEM)
        } catch {
            throw NodeSetupError("the hospital CA's certificate or key is unusable")
        }
    }

    private init(certificate: Certificate, key: P256.Signing.PrivateKey) {
        self.certificate = certificate
        self.key = key
    }

    package var certificatePEM: String { get throws { try certificate.serializeAsPEM().pemString } }
    package var keyPEM: String { key.pemRepresentation }

    /// An HTTPS certificate for a node, valid for `names` (host names and IP addresses), with a
    /// fresh P-256 key; the chain PEM holds the node's certificate, then the authority's.
    package func issue(node: String, names: [String]) throws -> HTTPCertificate {
        let nodeKey = P256.Signing.PrivateKey()
        let certificate = try issue(node: node, names: names, publicKey: nodeKey.publicKey)
        return HTTPCertificate(chainPEM: try certificate.serializeAsPEM().pemString + "\n" + certificatePEM, keyPEM: nodeKey.pemRepresentation)
    }

    /// An HTTPS certificate for a node's own key (from its signing request), valid for `names`.
    package func issue(node: String, names: [String], publicKey: P256.Signing.PublicKey) throws -> Certificate {
        try issue(node: node, alternatives: try names.map { try Self.generalName($0) }, publicKey: publicKey)
    }

    /// An HTTPS certificate for a node's key, valid for `alternatives` (a renewal keeps the old ones).
    package func issue(node: String, alternatives: [GeneralName], publicKey: P256.Signing.PublicKey) throws -> Certificate {
        let now = Date()
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(Self.nodeValidity),
            issuer: self.certificate.subject,
            subject: try DistinguishedName {
                OrganizationName("Suifang")
                CommonName(node)
            },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(alternatives)
                AuthorityKeyIdentifier(keyIdentifier: try self.certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
    }

    /// Whether this authority signed `certificate`.
    package func signed(_ certificate: Certificate) -> Bool {
        certificate.issuer == self.certificate.subject && self.certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
    }

    /// A DNS name, or an IPv4/IPv6 address as its bytes.
    static func generalName(_ text: String) throws -> GeneralName {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(withUnsafeBytes(of: &v4) { Array($0) })))
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(withUnsafeBytes(of: &v6) { Array($0) })))
        }
        guard !text.isEmpty, text.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }) else {
            throw NodeSetupError("'\(text)' is neither a host name nor an IP address")
        }
        return .dnsName(text)
    }
}

/// A node's HTTPS certificate chain and key, as PEM.
package struct HTTPCertificate: Sendable {
    package var chainPEM: String
    package var keyPEM: String

    package init(chainPEM: String, keyPEM: String) {
        self.chainPEM = chainPEM
        self.keyPEM = keyPEM
    }
}
