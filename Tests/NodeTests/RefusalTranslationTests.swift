import Foundation
import Testing

@testable import NodeHTTP

/// Chinese pages say the domain's refusals in Chinese: every refusal written in the sources has an
/// entry, and entries put the message's values back where the Chinese wants them.
@Suite("Web UI: refusals in Chinese")
struct RefusalTranslationTests {
    static let zh = Strings(language: .zh)

    @Test func refusalsAreSaidInChineseWithTheirValuesAndLeftAloneInEnglish() {
        #expect(Self.zh.refusal("a column appears twice in the header") == "表头中有重复的列")
        let bounded = Self.zh.refusal("at most 50000 lines per file; split it")
        #expect(bounded.contains("50000") && !bounded.contains("split it"), "\(bounded)")
        let notFound = Self.zh.refusal("no patient with id 'p-1'")
        #expect(notFound.contains("p-1") && !notFound.contains("no patient"), "\(notFound)")
        #expect(Strings(language: .en).refusal("a column appears twice in the header") == "a column appears twice in the header")
        #expect(Self.zh.refusal("a message nobody wrote yet") == "a message nobody wrote yet", "no entry: the English, not nothing")
    }

    @Test func everyEntryMatchesItsOwnMessageAndPutsEveryValueBack() {
        var seen = Set<String>()
        for (english, chinese) in RefusalTranslations.table {
            #expect(seen.insert(english).inserted, "twice: \(english)")
            let holes = english.components(separatedBy: "{}").count - 1
            let values = (0..<holes).map { "V\($0)x" }
            var message = english
            for value in values { message = message.replacingOccurrences(of: "{}", with: value, options: [], range: message.range(of: "{}")) }
            let said = Self.zh.refusal(message)
            #expect(said != message || english == chinese, "no match for its own message: \(english)")
            for value in values { #expect(said.contains(value), "\(english) → \(chinese) drops a value") }
            #expect(said.firstMatch(of: /\{[0-9]+\}/) == nil, "a placeholder left in: \(chinese)")
        }
    }

    /// A refusal written as a plain string in the sources (no values in it) has an entry, so a new
    /// message cannot reach a Chinese page in English unnoticed.
    @Test func everyPlainRefusalInTheSourcesHasAnEntry() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)).compactMap { $0 as? URL }
            .filter {
                $0.pathExtension == "swift" && ["CRMDomain", "NodeHTTP"].contains($0.pathComponents.dropLast().last(where: { ["CRMDomain", "NodeHTTP"].contains($0) }) ?? "")
            }
        var missing: [String] = []
        var checked = 0
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in text.matches(of: /(?:CRMError\.(?:invalid|unprocessable|conflict)|throw \.(?:invalid|unprocessable|conflict)|CRMError\(\.[a-zA-Z]+,) ?\(?"([^"\\]+)"\)/) {
                let message = String(match.1)
                checked += 1
                if Self.zh.refusal(message) == message { missing.append("\(file.lastPathComponent): \(message)") }
            }
        }
        #expect(checked > 100, "the scan found the refusals")
        #expect(missing.isEmpty, "\(missing.joined(separator: "\n"))")
    }
}
