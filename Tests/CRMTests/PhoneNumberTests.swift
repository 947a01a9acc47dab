import Testing

@testable import CRMDomain

/// Numbers as phone systems send them find the archive stored from a typed number.
@Suite("Phone numbers")
struct PhoneNumberTests {
    @Test(arguments: [
        "13800138000", "138 0013 8000", "138-0013-8000", "+86 138 0013 8000", "+8613800138000", "0086 13800138000", "008613800138000",
        "8613800138000", "013800138000", "13800138000,1234", "13800138000#5", "+86 (138) 0013.8000", "0 138 0013 8000",
    ])
    func aMobileNumberInAnyFormIsTheSame(_ sent: String) {
        #expect(PhoneNumber.normalize(sent) == "13800138000", "\(sent)")
    }

    @Test(arguments: ["010-12345678", "(010) 1234 5678", "+86 10 1234 5678", "0086 10 12345678", "+86-10-12345678,801", "010 12345678#8"])
    func aLandlineWithItsAreaCodeIsTheSame(_ sent: String) {
        #expect(PhoneNumber.normalize(sent) == "01012345678", "\(sent)")
    }

    @Test func whatIsNotANumberIsRefused() {
        for text in ["", "abc", "1234", "138001380001380013800", "+", ",123", "138 0013 8000 x12", "+86"] {
            #expect(PhoneNumber.normalize(text) == nil, "\(text)")
        }
        #expect(PhoneNumber.normalize("12345678") == "12345678", "a local landline stays as dialled")
        #expect(PhoneNumber.normalize("+1 415 555 0100") == "14155550100", "another country's number, digits as given")
    }
}
