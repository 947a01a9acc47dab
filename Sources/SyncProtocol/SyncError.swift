import Sodium

/// Why a sync connection was refused or ended. Both sides see the same code; messages
/// name nodes, versions and sizes, never patient data.
public struct SyncError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The closed set of reasons.
    public enum Code: UInt8, Hashable, Sendable, CaseIterable {
        /// The peer's certificate is not signed by this cluster's key.
        case unknownNode = 1
        /// The peer belongs to another cluster (another hospital's key).
        case wrongCluster = 2
        /// The peer's certificate has expired (or is not valid yet).
        case expired = 3
        /// The peer was revoked.
        case revoked = 4
        /// The peer loaded different conflict policies.
        case policyMismatch = 5
        /// The peer speaks a protocol version this node does not.
        case unsupportedVersion = 6
        /// A handshake message was malformed or its signature did not verify.
        case handshakeFailed = 7
        /// An encrypted frame failed authentication.
        case tamperedFrame = 8
        /// A frame was larger than allowed.
        case frameTooLarge = 9
        /// A message was malformed or arrived out of turn.
        case protocolViolation = 10
        /// A key file or key was unusable.
        case badKey = 11
        /// The peer refused for a reason of its own (its message says which).
        case refusedByPeer = 12
        /// The connection closed before the exchange finished.
        case connectionClosed = 13
        /// A certificate or token could not be read.
        case badCertificate = 14
        /// The peer sent nothing for longer than the idle timeout, or did not finish the handshake in time.
        case timedOut = 15
        /// A listener refused the connection: too many from that address, in all, or a newer session of the same node.
        case tooManyConnections = 16
        /// Under scoped policies a ward node syncs with central only (it holds a subset, which
        /// only central's scoped feed keeps exact).
        case scopeMismatch = 17
        /// Central answered this (revoked) node's hello with a signed order to wipe its replica and
        /// keys (``WipeOrder``): the node obeys and stops.
        case wipeOrdered = 18
    }

    /// Why.
    public let code: Code
    /// For people and logs.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

extension SyncError {
    /// What libsodium refused, as the protocol names it: a tampered, replayed or reordered frame,
    /// a key of the wrong kind, a peer key the key exchange will not use.
    init(_ error: SodiumError) {
        switch error.kind {
        case .tampered: self.init(.tamperedFrame, error.message)
        case .badKey, .outOfMemory: self.init(.badKey, error.message)
        case .unacceptablePeerKey: self.init(.handshakeFailed, error.message)
        }
    }

    /// Runs a libsodium step, its refusal as a ``SyncError``.
    static func checking<T>(_ body: () throws(SodiumError) -> T) throws(SyncError) -> T {
        do {
            return try body()
        } catch {
            throw SyncError(error)
        }
    }
}
