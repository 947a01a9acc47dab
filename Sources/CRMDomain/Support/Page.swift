import Foundation

/// One page of a list. `next` is the cursor for the following page, nil on the last.
public struct Page<Item: Codable & Sendable>: Codable, Sendable {
    public var items: [Item]
    public var next: String?

    public init(items: [Item], next: String?) {
        self.items = items
        self.next = next
    }
}

/// Where a page starts and how long it is. Lists are ordered by id; `after` is the last id seen.
public struct PageRequest: Sendable {
    public var after: String?
    public var limit: Int

    /// The longest page a caller may ask for.
    public static let maximumLimit = 500

    public init(after: String? = nil, limit: Int = 50) throws(CRMError) {
        guard (1...Self.maximumLimit).contains(limit) else {
            throw .invalid("limit must be between 1 and \(Self.maximumLimit)")
        }
        self.after = after?.isEmpty == true ? nil : after  // `?after=` is the first page
        self.limit = limit
    }

    /// The two parts of a `sortKey|id` cursor (lists ordered by a time or day, then id); nil on the
    /// first page.
    /// - Throws: `invalid` for a cursor this kind of list did not give.
    func keyAndID() throws(CRMError) -> (key: String, id: String)? {
        guard let after else { return nil }
        let parts = after.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { throw .invalid("after is not a cursor from this list") }
        return (parts[0], parts[1])
    }

    /// Cuts `limit + 1` fetched rows into a page.
    func page<Item>(_ rows: [Item], id: (Item) -> String) -> Page<Item> {
        if rows.count > limit {
            let items = Array(rows.prefix(limit))
            return Page(items: items, next: items.last.map(id))
        }
        return Page(items: rows, next: nil)
    }
}
