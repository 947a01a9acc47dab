/// Row ids of `owned-by` tables that name the ward a row was created for: `<base>~<ward>`.
///
/// A ward node creates rows of such tables only under ids bound to the ward it writes in the
/// owner column, and receivers check it on the commit alone. So no ward node can create, or
/// re-create, a row id that another ward's row has (every legitimate creation of an id bound to
/// ward W puts the row in W), nor squat an id another ward or central will derive (`his-…`,
/// derived task ids): those ids are bound to their own ward. A ward node's every later change
/// names an owner write (``RowDelta/ownerSeen``), which then can only be a write that once put
/// the row in one of its wards.
///
/// Ward ids never contain `~` (organisation ids are `[A-Za-z0-9._:-]`), so the ward is what
/// follows the last `~`. Central and call centers may create rows under any id, but the domain
/// binds every id of a row that has a ward, so ids derived on different nodes still agree.
public enum WardBoundKey {
    /// The separator between an id's base and its ward.
    public static let separator: Character = "~"

    /// `base` bound to `ward`; `base` unchanged when it is already bound to that ward.
    public static func bind(_ base: String, toWard ward: String) -> String {
        isBound(base, to: ward) ? base : base + String(separator) + ward
    }

    /// The id `bind(_:toWard:)` made from, when `key` is bound to `ward`; else `key` itself.
    public static func base(of key: String, ward: String?) -> String {
        guard isBound(key, to: ward), let index = key.lastIndex(of: separator) else { return key }
        return String(key[..<index])
    }

    /// The ward an id is bound to, or nil for an id without one.
    public static func ward(of key: String) -> Substring? {
        guard let index = key.lastIndex(of: separator) else { return nil }
        return key[key.index(after: index)...]
    }

    /// Whether `key` is bound to `ward`.
    public static func isBound(_ key: String, to ward: String?) -> Bool {
        guard let ward, let bound = self.ward(of: key) else { return false }
        return bound == ward
    }
}
