/// An acknowledgement (original mode): AA applied, AE understood but not applied, AR rejected.
public struct HL7Acknowledgement: Sendable, Equatable {
    public enum Code: String, Sendable {
        /// Application accept: applied (after commit), or applied before (a resent message).
        case accept = "AA"
        /// Application error: understood, not applied (an unmapped code, an unknown visit).
        case error = "AE"
        /// Application reject: malformed, or a type or event Suifang does not take.
        case reject = "AR"
    }

    public var code: Code
    public var error: HL7Error?

    public init(_ code: Code, error: HL7Error? = nil) {
        self.code = code
        self.error = error
    }

    /// The ACK message for `header` (the incoming message's MSH, read raw): MSH-3/4 and MSH-5/6
    /// swapped, MSA-2 echoing MSH-10, and for AE/AR an ERR segment (v2.5 layout) naming the error.
    /// - Parameters:
    ///   - controlID: this ACK's own MSH-10.
    ///   - timestamp: MSH-7, `YYYYMMDDHHMMSS±ZZZZ`.
    public func message(for header: HL7RawHeader, controlID: String, timestamp: String) -> [UInt8] {
        let trigger = header.component(9, 2).map { "^\($0)" } ?? ""
        let version = header.field(12) ?? "2.5"
        let charset = header.field(18).flatMap(HL7Charset.named).map(\.rawValue) ?? ""
        var msh = [
            "MSH", "^~\\&", "SUIFANG", header.component(6, 1) ?? "", header.component(3, 1) ?? "", header.component(4, 1) ?? "",
            timestamp, "", "ACK\(trigger)^ACK", controlID, header.component(11, 1) ?? "P", version,
        ]
        if !charset.isEmpty { msh += ["", "", "", "", "", charset] }
        var segments = [msh.joined(separator: "|")]
        var msa = ["MSA", code.rawValue, header.field(10) ?? ""]
        let text = error.map { Self.ascii($0.message) }
        if let text { msa.append(HL7Escaping.escape(String(text.prefix(80)))) }
        segments.append(msa.joined(separator: "|"))
        if let error {
            let location = error.location.map { $0.split(separator: "^").joined(separator: "^1^") } ?? ""
            let severity = code == .accept ? "W" : "E"
            segments.append(
                ["ERR", "", location, "\(error.code.rawValue)^\(error.code.label)^HL70357", severity, "", "", "", HL7Escaping.escape(text ?? "")].joined(separator: "|"))
        }
        return Array((segments.joined(separator: "\r") + "\r").utf8)
    }

    /// ASCII text, whatever character set the ACK declares (dashes kept, other characters as `?`).
    static func ascii(_ text: String) -> String {
        String(
            text.unicodeScalars.map { scalar -> Character in
                if scalar.isASCII { return Character(scalar) }
                return scalar == "\u{2013}" || scalar == "\u{2014}" ? "-" : "?"
            })
    }
}
