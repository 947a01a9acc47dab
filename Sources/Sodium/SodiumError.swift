/// What libsodium refused: a key of the wrong length or kind, a peer's key it will not use, a
/// message that fails authentication, or memory it could not get. Never carries key material.
public struct SodiumError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kinds of refusal.
    public enum Kind: Hashable, Sendable {
        /// A key (or header) of the wrong length or kind.
        case badKey
        /// The peer's key-exchange key is not acceptable.
        case unacceptablePeerKey
        /// An encrypted message is tampered with, replayed, reordered, truncated or late.
        case tampered
        /// libsodium could not get the memory it needed.
        case outOfMemory
    }

    /// Which refusal.
    public var kind: Kind
    /// What happened, for logs and the peer (never a key).
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
