import CRMDomain
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NodeRuntime
import Replica

/// An error as the API returns it: `{"error": {"code": "...", "message": "..."}}`. Messages never
/// carry patient data: they name fields and ids only.
package struct APIError: HTTPResponseError {
    package var status: HTTPResponse.Status
    package var code: String
    package var message: String
    /// Headers the answer carries besides the JSON ones (`Allow` on a 405).
    package var headers: HTTPFields

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try JSONResponse.make(ErrorBody(error: .init(code: code, message: message)))
        response.status = status
        response.headers.append(contentsOf: headers)
        return response
    }

    package init(status: HTTPResponse.Status, code: String, message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }
}

/// The JSON shape of an error answer.
package struct ErrorBody: Codable {
    package struct Detail: Codable {
        var code: String
        var message: String
    }
    package var error: Detail

    package init(error: Detail) {
        self.error = error
    }
}

/// Turns every error into a clear 4xx (or an opaque 500) JSON answer and logs it without patient
/// data: the route template, the status and the error code — never the body, query or message values.
package struct APIErrorMiddleware: RouterMiddleware {
    package typealias Context = APIRequestContext

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = Self.translate(error)
            let endpoint = context.endpointPath ?? "unmatched"
            if apiError.status.code >= 500 {
                context.logger.error(
                    "api request failed",
                    metadata: [
                        "http.method": "\(request.method)", "http.route": "\(endpoint)",
                        "error.type": "\(type(of: error))",
                    ])
            } else {
                context.logger.info(
                    "api request refused",
                    metadata: [
                        "http.method": "\(request.method)", "http.route": "\(endpoint)",
                        "http.status": "\(apiError.status.code)", "error.code": "\(apiError.code)",
                    ])
            }
            // Machines read `/api` and `/metrics`: a status and JSON, never a login page.
            guard request.uri.path.hasPrefix("/api") || request.uri.path == "/metrics" else { return WebErrorPage.response(for: error, request: request) }
            return try apiError.response(from: request, context: context)
        }
    }

    package static func translate(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case is WebRedirect:
            return APIError(status: .seeOther, code: "redirect", message: "see other")
        case let error as CRMError:
            let status: HTTPResponse.Status =
                switch error.kind {
                case .invalid: .badRequest
                case .unprocessable: .unprocessableContent
                case .unauthenticated: .unauthorized
                case .forbidden: .forbidden
                case .notFound: .notFound
                case .conflict: .conflict
                case .throttled: .tooManyRequests
                }
            return APIError(status: status, code: error.kind.rawValue, message: error.message)
        case let error as ReplicaError where error.code == .commitTooLarge:
            // The message holds row counts only: safe to show, and it says what to do.
            return APIError(status: .contentTooLarge, code: "\(error.code)", message: error.message)
        case let error as ReplicaError:
            let status: HTTPResponse.Status =
                switch error.code {
                case .duplicateKey, .alreadyTaken, .immutableRow, .lifecycleRegression, .rowDeleted: .conflict
                case .rowNotFound: .notFound
                default: .badRequest
                }
            return APIError(status: status, code: "\(error.code)", message: "the replica refused the change (\(error.code))")
        case let error as DecodingError:
            return APIError(status: .badRequest, code: "invalid", message: "request body: \(Self.describe(error))")
        case let error as HTTPError:
            return APIError(status: error.status, code: "http", message: error.status.reasonPhrase)
        case let error as any HTTPResponseError:
            return APIError(status: error.status, code: "http", message: error.status.reasonPhrase)
        default:
            return APIError(status: .internalServerError, code: "internal", message: "internal error; the change was not made")
        }
    }

    /// A decoding error as "field: problem", without the offending value.
    package static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? "the body" : keys.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context)).\(key.stringValue) is required".replacingOccurrences(of: "the body.", with: "")
        case .typeMismatch(let type, let context): return "\(path(context)) should be \(type == String.self ? "a string" : "\(type)")"
        case .valueNotFound(_, let context): return "\(path(context)) must not be null"
        case .dataCorrupted(let context): return context.codingPath.isEmpty ? "not valid JSON" : "\(path(context)) has an invalid value"
        @unknown default: return "invalid"
        }
    }
}
