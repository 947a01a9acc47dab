import Hummingbird
import NIOSSL
import NodeRuntime

/// How a node serves its web UI and API: HTTPS with its certificate, or plain HTTP where that is
/// allowed (loopback, or `--insecure-http`).
package enum HTTPTransport: Sendable {
    case tls(HTTPCertificate)
    case plain

    /// The NIOSSL server configuration for a certificate chain and key (TLS 1.2 and later).
    /// - Throws: ``NodeSetupError`` when the PEM does not hold a certificate chain and its key.
    static func serverConfiguration(_ certificate: HTTPCertificate) throws -> TLSConfiguration {
        do {
            let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificate.chainPEM.utf8))
            let key = try NIOSSLPrivateKey(bytes: Array(certificate.keyPEM.utf8), format: .pem)
            guard !chain.isEmpty else { throw NodeSetupError("the HTTPS certificate file holds no certificate") }
            var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            configuration.minimumTLSVersion = .tlsv12
            return configuration
        } catch let error as NodeSetupError {
            throw error
        } catch {
            throw NodeSetupError("the HTTPS certificate or key is unusable: \(error)")
        }
    }
}

/// `Strict-Transport-Security` on every answer of a node served over HTTPS: browsers that once
/// reached it keep to HTTPS for a year.
struct StrictTransportSecurity: RouterMiddleware {
    typealias Context = APIRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.strictTransportSecurity] = "max-age=31536000"
        return response
    }
}
