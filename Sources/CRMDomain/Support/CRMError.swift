import Foundation

/// Why a CRM operation was refused. Messages name fields and ids, never patient data,
/// so they are safe to log and to return to a client.
public struct CRMError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of refusal; the HTTP API maps each to a status code.
    public enum Kind: String, Hashable, Sendable {
        /// The input is malformed: a field missing, of the wrong type, too long or not in its format
        /// (HTTP 400). What the API's schema (docs/openapi.yaml) forbids is refused with this.
        case invalid
        /// The input is well-formed but breaks a rule its fields cannot show one by one: a range
        /// that ends before it starts, a rule without its interval, a merge of a record into itself
        /// (HTTP 422).
        case unprocessable
        /// The caller is not logged in or the session expired (HTTP 401).
        case unauthenticated
        /// The caller's role may not do this (HTTP 403).
        case forbidden
        /// The named record does not exist (HTTP 404).
        case notFound
        /// The record's state forbids it: already claimed, already submitted differently, … (HTTP 409).
        case conflict
        /// Too many failed attempts; try again later (HTTP 429).
        case throttled
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }

    /// The input was refused as malformed (400) or as breaking a rule (422): the person can fix it.
    public var refusesInput: Bool { kind == .invalid || kind == .unprocessable }

    static func invalid(_ message: String) -> CRMError { CRMError(.invalid, message) }
    static func unprocessable(_ message: String) -> CRMError { CRMError(.unprocessable, message) }
    static func notFound(_ entity: String, _ id: String) -> CRMError { CRMError(.notFound, "no \(entity) with id '\(CRMError.safeID(id))'") }
    static func conflict(_ message: String) -> CRMError { CRMError(.conflict, message) }

    /// An id as it may appear in a message: at most 64 characters of `[A-Za-z0-9:._-]`.
    static func safeID(_ id: String) -> String {
        let allowed = id.unicodeScalars.prefix(64).filter { $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil || ":._-".unicodeScalars.contains($0)) }
        return String(String.UnicodeScalarView(allowed))
    }
}
