import Foundation
import GRDB
import Replica
import Testing

@testable import Archive

/// The group archive's address, names and COPY text, without a server (Tests/Archive/archive_test.py
/// runs the archive against a real PostgreSQL).
@Suite("Group archive: address, names, COPY text")
struct ArchiveTargetTests {
    @Test func anAddressOffLoopbackMustBeEncryptedAndTheLogNeverShowsThePassword() throws {
        let local = try ArchiveTarget(url: "postgres://suifang:s3cret@127.0.0.1:5433/group", environmentPassword: nil)
        #expect(local.tls == .disable && local.port == 5433 && local.database == "group" && local.password == "s3cret")
        #expect(!local.description.contains("s3cret"))
        let remote = try ArchiveTarget(url: "postgresql://suifang@pg.group.example/group", environmentPassword: "from-env")
        #expect(remote.tls == .verifyFull && remote.password == "from-env")
        #expect(throws: ArchiveError.self) { try ArchiveTarget(url: "postgres://suifang@pg.group.example/group?sslmode=disable", environmentPassword: nil) }
        for bad in ["http://x@h/db", "postgres://h/db", "postgres://u@h/", "postgres://u@h/db?sslmode=maybe", "postgres://u@h/db?application_name=x"] {
            #expect(throws: ArchiveError.self, "\(bad)") { try ArchiveTarget(url: bad, environmentPassword: nil) }
        }
    }

    @Test func tablesAndColumnsAreSnakeCaseAndHospitalNamesArePlain() {
        #expect(ArchiveTable.snakeCase("surveyResponse") == "survey_response")
        #expect(ArchiveTable.snakeCase("templateId") == "template_id")
        #expect(ArchiveWriter.validHospital("fz-1.gulou_2"))
        for bad in ["", "a b", "医院", "x'; DROP", String(repeating: "h", count: 65)] { #expect(!ArchiveWriter.validHospital(bad)) }
    }

    /// Values come from replicas: whatever a row holds, the COPY text stays one line per row with
    /// one field per column, and a value that does not fit its type becomes NULL, never an error
    /// that would stop the archive.
    @Test func hostileValuesCannotBreakTheCopyText() {
        var text = CopyText()
        text.appendRow([
            ("tab\there\nnew\\line\r\u{0}nul".databaseValue, .text), ("not a number".databaseValue, .integer),
            (Double.nan.databaseValue, .real), (DatabaseValue.null, .text), (Data([0x00, 0xFF]).databaseValue, .blob),
            (42.5.databaseValue, .integer), (7.databaseValue, .text),
        ])
        let line = String(decoding: text.bytes, as: UTF8.self)
        #expect(line == "tab\\there\\nnew\\\\line\\r\u{FFFD}nul\t\\N\tNaN\t\\N\t\\\\x00ff\t\\N\t7\n")
        #expect(text.coerced == 2)
    }

    /// Integers are written digit by digit: every Int64, its extremes included, as PostgreSQL reads it.
    @Test func integersAreWrittenExactly() {
        var text = CopyText()
        let numbers: [Int64] = [0, 7, -7, 10, 1_000_000, Int64.max, Int64.min, -1]
        text.appendRow(numbers.map { ($0.databaseValue, .integer) } + [("123".databaseValue, .integer), (Int64(-5).databaseValue, .text)])
        #expect(String(decoding: text.bytes, as: UTF8.self) == (numbers.map(String.init) + ["123", "-5"]).joined(separator: "\t") + "\n")
    }
}
