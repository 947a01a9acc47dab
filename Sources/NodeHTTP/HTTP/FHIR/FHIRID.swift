/// Suifang ids as FHIR ids (`[A-Za-z0-9\-\.]{1,64}`), reversibly: `.` is the escape character
/// (`.0` a dot, `.1` an underscore, `.2` a tilde, the binding separator of ward-bound ids).
enum FHIRID {
    static func encode(_ id: String) -> String {
        var out = ""
        for character in id {
            switch character {
            case ".": out += ".0"
            case "_": out += ".1"
            case "~": out += ".2"
            default: out.append(character)
            }
        }
        return out
    }

    /// The Suifang id, or nil when `fhirID` is not one this server wrote.
    static func decode(_ fhirID: String) -> String? {
        guard (1...64).contains(fhirID.count), fhirID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }) else { return nil }
        var out = ""
        var escaping = false
        for character in fhirID {
            if escaping {
                switch character {
                case "0": out += "."
                case "1": out += "_"
                case "2": out += "~"
                default: return nil
                }
                escaping = false
            } else if character == "." {
                escaping = true
            } else {
                out.append(character)
            }
        }
        return escaping ? nil : out
    }
}
