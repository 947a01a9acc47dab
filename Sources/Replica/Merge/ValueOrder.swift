import GRDB

/// A total order over SQLite values, used to break clock ties deterministically:
/// NULL < numbers < text < blobs; numbers by value (an integer before an equal real);
/// text and blobs by their bytes.
enum ValueOrder {
    static func compare(_ lhs: DatabaseValue, _ rhs: DatabaseValue) -> Int {
        let lhsRank = rank(lhs), rhsRank = rank(rhs)
        if lhsRank != rhsRank { return lhsRank < rhsRank ? -1 : 1 }
        switch (lhs.storage, rhs.storage) {
        case (.null, .null):
            return 0
        case (.int64(let a), .int64(let b)):
            return a == b ? 0 : (a < b ? -1 : 1)
        case (.double(let a), .double(let b)):
            return a == b ? 0 : (a < b ? -1 : 1)
        case (.int64(let a), .double(let b)):
            let a = Double(a)
            return a == b ? -1 : (a < b ? -1 : 1)
        case (.double(let a), .int64(let b)):
            let b = Double(b)
            return a == b ? 1 : (a < b ? -1 : 1)
        case (.string(let a), .string(let b)):
            return compareBytes(Array(a.utf8), Array(b.utf8))
        case (.blob(let a), .blob(let b)):
            return compareBytes(Array(a), Array(b))
        default:
            return 0
        }
    }

    static func less(_ lhs: DatabaseValue, _ rhs: DatabaseValue) -> Bool {
        compare(lhs, rhs) < 0
    }

    private static func rank(_ value: DatabaseValue) -> Int {
        switch value.storage {
        case .null: 0
        case .int64, .double: 1
        case .string: 2
        case .blob: 3
        }
    }

    private static func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Int {
        for (x, y) in zip(a, b) where x != y {
            return x < y ? -1 : 1
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }
}
