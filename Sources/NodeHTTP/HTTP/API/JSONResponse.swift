import CRMDomain
import Foundation
import Hummingbird
import NIOCore
import NodeRuntime

/// JSON responses and the small parsing helpers every route uses.
package enum JSONResponse {
    package static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// A 200 (or `status`) with `value` as JSON.
    package static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// `{"id": "..."}`, the answer to a create.
package struct CreatedID: Codable, Sendable {
    package var id: String

    package init(id: String) {
        self.id = id
    }
}

/// `{"ok": true}`, the answer to a change with nothing to return.
package struct Done: Codable, Sendable {
    package var ok = true
}

extension Request {
    /// A query parameter.
    package func query(_ name: String) -> String? {
        uri.queryParameters[Substring(name)].map(String.init)
    }

    /// A required query parameter, or a 400 naming it.
    package func requireQuery(_ name: String) throws -> String {
        guard let value = query(name), !value.isEmpty else { throw CRMError(.invalid, "query parameter '\(name)' is required") }
        return value
    }

    /// `?after=&limit=` as a page request (limit 1–500, default 50).
    package func pageRequest() throws -> PageRequest {
        let limit =
            try query("limit").map { text throws(CRMError) in
                guard let value = Int(text) else { throw CRMError(.invalid, "limit must be a number") }
                return value
            } ?? 50
        return try PageRequest(after: query("after"), limit: limit)
    }

    /// `?from=&to=` (yyyy-MM-dd, both required).
    package func dayRange() throws -> DayRange {
        DayRange(from: try requireQuery("from"), to: try requireQuery("to"))
    }

    /// The JSON body as `T`, with a 400 that names the field when it does not fit.
    /// Bodies over the context's limit are a 413; decoding errors name the field, never the value.
    package func json<T: Decodable>(_ type: T.Type, context: APIRequestContext) async throws -> T {
        // A form another site posts cannot claim to be JSON without a preflight the API never answers.
        guard let contentType = headers[.contentType], contentType.lowercased().hasPrefix("application/json") else {
            throw CRMError(.invalid, "request body: send it as Content-Type: application/json")
        }
        let buffer = try await body.collect(upTo: context.maxUploadSize)
        let value = try JSONDecoder().decode(type, from: Data(buffer.readableBytesView))
        // The replica keeps no NUL (SQLite reads text up to it): refuse it in any field the route
        // reads, for every route alike (fields it does not know are ignored, as the schema allows).
        guard !DecodedText.holdsNUL(value) else { throw CRMError(.invalid, "request body: text must not hold NUL characters (\\u0000)") }
        return value
    }
}

/// Facts about the text in a decoded request body.
enum DecodedText {
    /// Whether any string in `value` (its fields, elements, keys and payloads, 64 levels deep at
    /// most: deeper values are left to the replica's own check) holds a NUL character.
    static func holdsNUL(_ value: Any, depth: Int = 0) -> Bool {
        if let text = value as? String { return text.utf8.contains(0) }
        guard depth < 64 else { return false }
        return Mirror(reflecting: value).children.contains { holdsNUL($0.value, depth: depth + 1) }
    }
}

extension Parameters {
    /// A path parameter the route guarantees, percent-decoded (`/api/his/codes/ward/%E5%BF%83` names
    /// the code `心`).
    package func id(_ name: String = "id") throws -> String {
        let raw = try require(name)
        guard let decoded = raw.removingPercentEncoding else { throw CRMError(.invalid, "path parameter '\(name)' is not valid percent-encoded UTF-8") }
        return decoded
    }
}
