import Foundation
import GRDB

/// What a declared column accepts, checked the same way for local writes and for commits from
/// peers: the declared type, `not null`, a lifecycle's states, a set's encoding, finite reals,
/// text without NUL characters and bounded sizes. A message names the table, the column and the rule, never the value.
enum ValueRules {
    /// The most bytes one text or blob value may hold.
    static let maximumValueBytes = 1 << 20

    /// The broken rule, or nil when `value` fits `column`.
    static func violation(_ value: DatabaseValue, _ column: ColumnDeclaration, table: String) -> String? {
        // Built only when a rule is broken: this runs for every value of every merged commit.
        var subject: String { "column '\(column.name)' of table '\(table)'" }
        switch (column.type, value.storage) {
        case (_, .null):
            return column.notNull ? "\(subject) is declared not null" : nil
        case (.text, .string(let text)):
            guard text.utf8.count <= maximumValueBytes else { return "\(subject) takes at most \(maximumValueBytes) bytes" }
            // SQLite's C strings end at NUL: a value holding one would be read back cut short.
            guard !containsNUL(text) else { return "\(subject) takes text without NUL characters" }
        case (.blob, .blob(let data)):
            guard data.count <= maximumValueBytes else { return "\(subject) takes at most \(maximumValueBytes) bytes" }
        case (.integer, .int64), (.real, .int64):
            break
        case (.real, .double(let real)):
            guard real.isFinite else { return "\(subject) takes finite numbers" }
        default:
            return "\(subject) takes \(column.type.rawValue)"
        }
        switch column.policy {
        case .lifecycle(let states):
            if let state = String.fromDatabaseValue(value), !states.contains(where: { $0.isSameID(as: state) }) {
                return "\(subject) takes one of: \(states.joined(separator: ", "))"
            }
        case .addWinsSet:
            guard SetCodec.decode(value) != nil else { return "\(subject) takes a JSON array of text" }
        default:
            break
        }
        return nil
    }

    /// Whether `text` holds a NUL byte: `memchr` over a native string's UTF-8 (this runs for every
    /// text value merged), a byte walk otherwise.
    static func containsNUL(_ text: String) -> Bool {
        let found = text.utf8.withContiguousStorageIfAvailable { bytes in
            guard let base = bytes.baseAddress else { return false }
            return memchr(base, 0, bytes.count) != nil
        }
        return found ?? text.utf8.contains(0)
    }
}
