import Foundation
import Sodium

/// Where the secret that unwraps a node's data key comes from. node.json keeps this *place*
/// (`"unlock"`), never the secret; `serve --unlock` or `SUIFANG_UNLOCK` override it.
///
/// - `file:PATH` — a key file, e.g. on a USB stick kept in the ward's safe (`suifang init` creates
///   it when it does not exist: 32 random bytes as 64 hexadecimal digits).
/// - `credential:NAME` — a systemd credential (`LoadCredentialEncrypted=NAME:…` in the unit, sealed
///   to the machine's TPM by `systemd-creds encrypt`), read from `$CREDENTIALS_DIRECTORY/NAME`.
///   It holds the same text as the key file it was made from.
/// - `prompt` — a passphrase, asked on the terminal (or read as one line from standard input),
///   stretched with Argon2id.
package enum UnlockSource: Sendable, Equatable, CustomStringConvertible {
    case keyFile(String)
    case credential(String)
    case passphrase

    /// The environment variable that overrides node.json's `unlock`.
    package static let environmentVariable = "SUIFANG_UNLOCK"

    /// - Throws: ``NodeSetupError`` naming the three forms.
    package init(_ text: String) throws {
        if text.hasPrefix("file:"), text.count > 5 {
            self = .keyFile(String(text.dropFirst(5)))
        } else if text.hasPrefix("credential:"), text.count > 11, !text.dropFirst(11).contains("/") {
            self = .credential(String(text.dropFirst(11)))
        } else if text == "prompt" {
            self = .passphrase
        } else {
            throw NodeSetupError("'\(text)' is not an unlock source: give file:PATH, credential:NAME or prompt")
        }
    }

    package var description: String {
        switch self {
        case .keyFile(let path): "file:\(path)"
        case .credential(let name): "credential:\(name)"
        case .passphrase: "prompt"
        }
    }

    /// Whether the secret is typed by a person (stretched with Argon2id) rather than a random key.
    package var isPassphrase: Bool { self == .passphrase }

    /// The secret's bytes (surrounding whitespace trimmed).
    /// - Throws: ``NodeSetupError`` when the key file or credential is missing or too short, or no
    ///   passphrase was given.
    package func secret() throws -> [UInt8] {
        switch self {
        case .keyFile(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw NodeSetupError("the unlock key file \(path) is missing: insert the key medium, or give --unlock")
            }
            return try Self.keyMaterial(Array(data), from: path)
        case .credential(let name):
            guard let directory = ProcessInfo.processInfo.environment["CREDENTIALS_DIRECTORY"] else {
                throw NodeSetupError("the unlock credential '\(name)' needs systemd's CREDENTIALS_DIRECTORY (LoadCredentialEncrypted= in the unit)")
            }
            let path = URL(fileURLWithPath: directory).appendingPathComponent(name).path
            guard let data = FileManager.default.contents(atPath: path) else {
                throw NodeSetupError("the unlock credential '\(name)' is not in \(directory)")
            }
            return try Self.keyMaterial(Array(data), from: "credential '\(name)'")
        case .passphrase:
            let text: String?
            if isatty(STDIN_FILENO) == 1 {
                text = getpass("passphrase to unlock the node's data: ").map { String(cString: $0) }
            } else {
                text = readLine(strippingNewline: true)
            }
            guard let text, !text.isEmpty else { throw NodeSetupError("no passphrase was given to unlock the node's data") }
            return Array(text.utf8)
        }
    }

    /// Creates a key file at `path` when there is none: 32 random bytes, 64 hexadecimal digits, mode 0400.
    package static func createKeyFile(at path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { return }
        let text = Sodium.randomBytes(32).map { String(format: "%02x", $0) }.joined() + "\n"
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o400]) else {
            throw NodeSetupError("cannot write the key file \(path)")
        }
    }

    private static func keyMaterial(_ bytes: [UInt8], from place: String) throws -> [UInt8] {
        let trimmed = String(bytes: bytes, encoding: .utf8).map { Array($0.trimmingCharacters(in: .whitespacesAndNewlines).utf8) } ?? bytes
        guard trimmed.count >= 32 else { throw NodeSetupError("the unlock secret in \(place) is shorter than 32 bytes: use a generated key file") }
        return trimmed
    }
}
