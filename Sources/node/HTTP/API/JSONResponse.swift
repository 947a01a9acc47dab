import NodeRuntime
import CRMDomain
import Foundation
import Hummingbird
import NIOCore

/// JSON responses and the small parsing helpers every route uses.
enum JSONResponse {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// A 200 (or `status`) with `value` as JSON.
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// `{"id": "..."}`, the answer to a create.
struct CreatedID: Codable, Sendable {
    var id: String
}

/// `{"ok": true}`, the answer to a change with nothing to return.
struct Done: Codable, Sendable {
    var ok = true
}

extension Request {
    /// A query parameter.
    func query(_ name: String) -> String? {
        uri.queryParameters[Substring(name)].map(String.init)
    }

    /// A required query parameter, or a 400 naming it.
    func requireQuery(_ name: String) throws -> String {
        guard let value = query(name), !value.isEmpty else { throw CRMError(.invalid, "query parameter '\(name)' is required") }
        return value
    }

    /// `?after=&limit=` as a page request (limit 1–500, default 50).
    func pageRequest() throws -> PageRequest {
        let limit = try query("limit").map { text throws(CRMError) in
            guard let value = Int(text) else { throw CRMError(.invalid, "limit must be a number") }
            return value
        } ?? 50
        return try PageRequest(after: query("after"), limit: limit)
    }

    /// `?from=&to=` (yyyy-MM-dd, both required).
    func dayRange() throws -> DayRange {
        DayRange(from: try requireQuery("from"), to: try requireQuery("to"))
    }

    /// The JSON body as `T`, with a 400 that names the field when it does not fit.
    /// Bodies over the context's limit are a 413; decoding errors name the field, never the value.
    func json<T: Decodable>(_ type: T.Type, context: APIRequestContext) async throws -> T {
        let buffer = try await body.collect(upTo: context.maxUploadSize)
        return try JSONDecoder().decode(type, from: Data(buffer.readableBytesView))
    }
}

extension Parameters {
    /// A path parameter the route guarantees.
    func id(_ name: String = "id") throws -> String {
        try require(name)
    }
}
