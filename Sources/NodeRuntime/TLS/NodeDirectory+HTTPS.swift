import Foundation

/// A node's HTTPS files:
///
/// ```
/// ca.pem     the hospital CA's certificate (every node; what tablets trust)
/// ca.key     the CA's key (central only), sealed like node.key
/// http.pem   the node's HTTPS certificate chain (its certificate, then the CA's)
/// http.key   its key, sealed like node.key
/// ```
extension NodeDirectory {
    package static let authorityCertificateFile = "ca.pem"
    static let authorityKeyFile = "ca.key"
    static let httpChainFile = "http.pem"
    static let httpKeyFile = "http.key"

    /// The names an HTTPS certificate is issued for: the given ones, the node's name, `localhost`, `127.0.0.1`.
    static func httpNames(_ node: String, _ given: [String]) -> [String] {
        var names: [String] = []
        for name in given + [node, "localhost", "127.0.0.1"] where !names.contains(name) {
            if (try? HospitalCA.generalName(name)) != nil { names.append(name) }
        }
        return names
    }

    /// The hospital CA (central only).
    /// - Throws: ``NodeSetupError`` when this node holds no CA.
    package func hospitalCA() throws -> HospitalCA {
        guard FileManager.default.fileExists(atPath: file(Self.authorityKeyFile).path) else {
            throw NodeSetupError("\(url.path) holds no hospital CA (only central has one)")
        }
        return try HospitalCA(
            certificatePEM: String(decoding: try read(Self.authorityCertificateFile), as: UTF8.self),
            keyPEM: String(decoding: try readSecret(Self.authorityKeyFile), as: UTF8.self))
    }

    /// The node's HTTPS certificate and key, or nil when it has none (a node made before HTTPS).
    package func httpCertificate() throws -> HTTPCertificate? {
        guard FileManager.default.fileExists(atPath: file(Self.httpChainFile).path) else { return nil }
        return HTTPCertificate(
            chainPEM: String(decoding: try read(Self.httpChainFile), as: UTF8.self),
            keyPEM: String(decoding: try readSecret(Self.httpKeyFile), as: UTF8.self))
    }

    func saveHTTPCertificate(_ certificate: HTTPCertificate) throws {
        try write(Array(certificate.chainPEM.utf8), to: Self.httpChainFile)
        try writeSecret(Array(certificate.keyPEM.utf8), to: Self.httpKeyFile)
    }
}
