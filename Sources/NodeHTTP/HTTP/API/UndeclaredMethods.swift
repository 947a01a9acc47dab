import HTTPTypes
import Hummingbird

/// A path the node serves, asked with a method it does not serve there, is answered
/// `405 Method Not Allowed` with an `Allow` header naming the methods it does serve (RFC 9110
/// §15.5.6), rather than a 404 that would say the path does not exist. `HEAD` is served wherever
/// `GET` is; `OPTIONS` is answered 405 too: the node has no cross-origin callers to pre-flight.
enum UndeclaredMethods {
    /// The methods a client may try on any path.
    static let checked: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete, .options, .trace, .connect, HTTPRequest.Method("QUERY")!]

    /// Adds the 405 answers for every path `router` serves; call it after the last route is added.
    static func answer(on router: Router<APIRequestContext>) {
        for served in Dictionary(grouping: router.routes, by: \.path.description).values {
            guard let path = served.first?.path else { continue }
            var methods = Set(served.map(\.method))
            if methods.contains(.get) { methods.insert(.head) }
            let allow = methods.map(\.rawValue).sorted().joined(separator: ", ")
            for method in checked where !methods.contains(method) {
                router.on(path, method: method) { request, _ -> Response in
                    throw APIError(
                        status: .methodNotAllowed, code: "method",
                        message: "\(request.method.rawValue) is not served at this path; it serves \(allow)",
                        headers: [.allow: allow])
                }
            }
        }
    }
}
