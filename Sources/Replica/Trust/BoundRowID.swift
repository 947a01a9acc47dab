/// Row ids that name who may create them, so that no node can create, or create again, an id
/// that belongs to someone else: receivers check it on the commit alone, whatever they hold.
///
/// - A row of an `owned-by` table that has a ward gets an id bound to that ward,
///   `<base>~<ward>`, on every node (so an id derived on central and on the ward agrees). A ward
///   node creates such rows only under ids bound to the ward it writes in the owner column, so it
///   can neither take another ward's row over by creating its id again (a later stamp wins the
///   row, an earlier one quietly loses and is then named as the owner write of a change) nor
///   squat an id another ward's row will be derived under (`his-…`, derived task ids). Every
///   legitimate creation of an id bound to ward W puts the row in W, so the owner write a ward
///   node's later change names (``RowDelta/ownerSeen``) is a write that once put the row in one
///   of its wards.
/// - A row of an append-only table created by a node other than central gets an id bound to
///   that node, `<base>~<node id>~`. Append-only rows keep the earliest of conflicting
///   creations, so without it a node could replace another's audit entry, event or survey
///   response by creating its id again with an earlier stamp.
///
/// Ward ids never contain `~` (organisation ids are `[A-Za-z0-9._:-]`, and a node binding ends
/// with `~`), and `~` is not escaped in URLs, so bound ids travel in links as they are.
public enum BoundRowID {
    /// The separator between an id's base and what it is bound to.
    public static let separator: Character = "~"

    /// `base` bound to `ward`; `base` unchanged when it is already bound to that ward.
    public static func bind(_ base: String, toWard ward: String) -> String {
        isBound(base, toWard: ward) ? base : base + String(separator) + ward
    }

    /// `base` bound to the node `node`; unchanged when it already is.
    public static func bind(_ base: String, toNode node: NodeID) -> String {
        isBound(base, toNode: node) ? base : base + nodeSuffix(node)
    }

    /// The ward an id is bound to, or nil for an id bound to none (or to a node).
    public static func ward(of key: String) -> Substring? {
        guard let index = key.utf8.lastIndex(of: separatorByte) else { return nil }
        let ward = key[key.utf8.index(after: index)...]
        return ward.isEmpty ? nil : ward
    }

    /// Whether `key` is bound to `ward`, compared byte for byte as SQLite compares ids (Swift's
    /// `==` calls canonically equivalent wards one: "W-\u{212A}1", a Kelvin sign, is not "W-K1").
    /// One binding only: the base holds no `~`, so `his-1~0~W` (which sorts among `his-1`'s
    /// bindings) is bound to nothing and no ward can create it.
    public static func isBound(_ key: String, toWard ward: String?) -> Bool {
        guard let ward, let bound = self.ward(of: key), bound.utf8.elementsEqual(ward.utf8) else { return false }
        return !key.utf8.dropLast(ward.utf8.count + 1).contains(separatorByte)
    }

    /// Whether `key` is bound to the node `node` (its last bytes are the node's binding).
    public static func isBound(_ key: String, toNode node: NodeID) -> Bool {
        let suffix = nodeSuffix(node).utf8
        return key.utf8.count >= suffix.count && key.utf8.suffix(suffix.count).elementsEqual(suffix)
    }

    /// The id a binding was made from: `key` without its ward or node binding.
    public static func base(of key: String) -> String {
        let bytes = key.utf8
        var rest = bytes[...]
        if rest.last == separatorByte {
            rest = rest.dropLast()
            guard let index = rest.lastIndex(of: separatorByte), rest.distance(from: index, to: rest.endIndex) == 17 else { return key }
            return String(key[..<index])
        }
        guard let index = rest.lastIndex(of: separatorByte) else { return key }
        return String(key[..<index])
    }

    /// `~` in UTF-8: a byte no other character's encoding contains.
    private static let separatorByte = UInt8(ascii: "~")

    private static func nodeSuffix(_ node: NodeID) -> String {
        String(separator) + node.description + String(separator)
    }
}
