/// A kind of short ASCII identifier (a row id, an HIS code, a user name), checked byte by byte.
///
/// The regular expressions these replace were compiled on every call (on the HIS feed, several
/// times per message) and, as ICU's `$` does, let a trailing line break through.
struct ASCIIIdentifier: Sendable {
    /// Which letters it may hold.
    enum Letters: Sendable {
        case any, lowercase, uppercase
    }

    let letters: Letters
    /// The punctuation it may hold besides letters and digits.
    let punctuation: Set<UInt8>
    let length: ClosedRange<Int>

    init(letters: Letters = .any, punctuation: String, length: ClosedRange<Int>) {
        self.letters = letters
        self.punctuation = Set(punctuation.utf8)
        self.length = length
    }

    /// `[A-Za-z0-9._-]{1,40}`: HIS visit numbers and codes.
    static let hisCode = ASCIIIdentifier(punctuation: "._-", length: 1...40)
    /// `[A-Za-z0-9_-]{1,40}`: ids a client chooses (templates, SMS templates).
    static let clientID = ASCIIIdentifier(punctuation: "_-", length: 1...40)

    /// Whether `text` is such an identifier.
    func admits(_ text: String) -> Bool {
        var count = 0
        for byte in text.utf8 {
            count += 1
            guard count <= length.upperBound, admits(byte) else { return false }
        }
        return count >= length.lowerBound
    }

    private func admits(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "a")...UInt8(ascii: "z"): letters != .uppercase
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): letters != .lowercase
        default: punctuation.contains(byte)
        }
    }
}
