/// The delimiters a message declares in MSH-1 and MSH-2 (`|^~\&` by convention).
public struct HL7Delimiters: Sendable, Equatable {
    public var field: UInt8
    public var component: UInt8
    public var repetition: UInt8
    public var escape: UInt8
    public var subcomponent: UInt8

    /// `|^~\&`: what every message Suifang writes uses.
    public static let standard = HL7Delimiters(field: 0x7C, component: 0x5E, repetition: 0x7E, escape: 0x5C, subcomponent: 0x26)

    /// The characters of MSH-2 as this message writes them.
    public var encodingCharacters: String {
        String(decoding: [component, repetition, escape, subcomponent], as: UTF8.self)
    }
}

/// One segment: its id and its fields as raw (still escaped) UTF-8, numbered as HL7 numbers them.
public struct HL7Segment: Sendable {
    public let id: String
    /// `fields[n]` is field n; `fields[0]` is the segment id. In MSH, field 1 is the field
    /// separator itself and field 2 the encoding characters, as the standard counts them.
    let fields: [ArraySlice<UInt8>]
    let delimiters: HL7Delimiters

    /// Field `number` (1-based), empty when the segment is shorter.
    public func field(_ number: Int) -> HL7Field {
        HL7Field(raw: number >= 0 && number < fields.count ? fields[number] : [], delimiters: delimiters)
    }

    /// The first component of the first repetition of field `number`, unescaped; nil when empty.
    public func value(_ number: Int, component: Int = 1) -> String? {
        field(number).repetitions.first?.component(component)
    }
}

/// A field: one or more repetitions of components.
public struct HL7Field: Sendable {
    let raw: ArraySlice<UInt8>
    let delimiters: HL7Delimiters

    public var isEmpty: Bool { raw.isEmpty }

    /// The repetitions, in order (one for a field that does not repeat; none when empty).
    public var repetitions: [HL7Repetition] {
        guard !raw.isEmpty else { return [] }
        return raw.split(separator: delimiters.repetition, omittingEmptySubsequences: false).map { HL7Repetition(raw: $0, delimiters: delimiters) }
    }
}

/// One repetition of a field: components of subcomponents.
public struct HL7Repetition: Sendable {
    let raw: ArraySlice<UInt8>
    let delimiters: HL7Delimiters

    /// Component `number` (1-based), its first subcomponent unescaped; nil when empty.
    public func component(_ number: Int, subcomponent: Int = 1) -> String? {
        let components = raw.split(separator: delimiters.component, omittingEmptySubsequences: false)
        guard number >= 1, number <= components.count else { return nil }
        let subcomponents = components[number - 1].split(separator: delimiters.subcomponent, omittingEmptySubsequences: false)
        guard subcomponent >= 1, subcomponent <= subcomponents.count else { return nil }
        let text = HL7Escaping.unescape(subcomponents[subcomponent - 1], delimiters: delimiters)
        // `""` is HL7's explicit null: the sender says the value is to be deleted; we read it as absent.
        return text.isEmpty || text == "\"\"" ? nil : text
    }
}

/// A parsed HL7 v2 message: its segments in the order they came.
public struct HL7Message: Sendable {
    public let segments: [HL7Segment]
    public let delimiters: HL7Delimiters

    /// The first segment with `id`.
    public func segment(_ id: String) -> HL7Segment? { segments.first { $0.id == id } }

    /// Every segment with `id`, in order.
    public func segments(_ id: String) -> [HL7Segment] { segments.filter { $0.id == id } }

    /// MSH, which ``HL7Parser`` guarantees is first.
    public var header: HL7Segment { segments[0] }
}
