import Foundation
import Testing

@testable import CRMDomain

/// Short identifiers are checked byte by byte, as the patterns in docs/openapi.yaml say.
@Suite("ASCII identifiers")
struct ASCIIIdentifierTests {
    @Test func theHISCodePatternAdmitsWhatItsRegularExpressionAdmits() {
        let samples = [
            "HV1", "a.b_c-d", String(repeating: "9", count: 40), "", String(repeating: "9", count: 41), "HV 1", "HV/1", "住院1", "HV1\n", "\nHV1",
            "HV1\r\n", "HV\u{0}1", "ＨＶ1", "A:B",
        ]
        for sample in samples {
            // (Less what ICU's `$` lets through: a final line break.)
            let endsInLineBreak = sample.unicodeScalars.last.map { $0 == "\n" || $0 == "\r" } ?? false
            let regular = sample.range(of: "^[A-Za-z0-9._-]{1,40}$", options: .regularExpression) != nil && !endsInLineBreak
            #expect(ASCIIIdentifier.hisCode.admits(sample) == regular, "\(sample.debugDescription)")
        }
    }

    @Test func aTrailingLineBreakIsNeverPartOfAnIdentifier() {
        // ICU's `$` matches before a final line break: the regular expressions let "abc\n" through.
        #expect("abc\n".range(of: "^[a-z]{2,32}$", options: .regularExpression) != nil)
        #expect(!ASCIIIdentifier(letters: .lowercase, punctuation: "._-", length: 2...32).admits("abc\n"))
        #expect(!ASCIIIdentifier.clientID.admits("template-1\n"))
    }

    @Test func lettersAndLengthsAreHeldToTheKind() {
        let username = ASCIIIdentifier(letters: .lowercase, punctuation: "._-", length: 2...32)
        #expect(username.admits("agent.li"))
        #expect(!username.admits("Agent"))
        #expect(!username.admits("a"))
        let idNumber = ASCIIIdentifier(letters: .uppercase, punctuation: "", length: 6...20)
        #expect(idNumber.admits("11010519491231002X"))
        #expect(!idNumber.admits("11010519491231002x"))
        #expect(!idNumber.admits("12345"))
        #expect(ASCIIIdentifier(punctuation: "_-", length: 10...40).admits("0123456789"))
        #expect(!ASCIIIdentifier(punctuation: "_-", length: 10...40).admits("012345678"))
    }
}
