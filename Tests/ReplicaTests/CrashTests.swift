import Foundation
import TestSupport
import Testing

/// Runs the real `suifang` binary and kills it with SIGKILL in the middle of a transaction.
@Suite("Crash during apply")
struct CrashTests {
    static let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/suifang")

    func run(_ arguments: [String]) throws -> (status: Int32, killed: Bool, output: String) {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, process.terminationReason == .uncaughtSignal, output)
    }

    /// The same with the replica encrypted at rest (every page of the file and the WAL sealed): the
    /// killed transaction leaves an intact, readable replica that the key opens.
    @Test(arguments: [(1, false), (2_500, false), (4_999, false), (1, true), (2_500, true), (4_999, true)])
    func aProcessKilledMidBatchLeavesAllOrNothing(crashAfter: Int, encrypted: Bool) throws {
        let file = TemporaryDatabase("crash")
        defer { file.remove() }
        let database = file.path
        let key = encrypted ? ["--data-key", String(repeating: "5a", count: 32)] : []
        let crashed = try run(["debug", "apply-and-crash", "--database", database, "--rows", "5000", "--crash-after", "\(crashAfter)"] + key)
        #expect(crashed.killed && crashed.status == 9, "expected SIGKILL: \(crashed.output)")
        let afterCrash = try run(["debug", "count", "--database", database] + key)
        #expect(afterCrash.output.contains("rows=0 commits=0 integrity=ok"), "\(afterCrash.output)")
        let finished = try run(["debug", "apply-and-crash", "--database", database, "--rows", "5000"] + key)
        #expect(finished.status == 0, "\(finished.output)")
        let afterFinish = try run(["debug", "count", "--database", database] + key)
        #expect(afterFinish.output.contains("rows=5000 commits=5000 integrity=ok"), "\(afterFinish.output)")
        if encrypted {
            let withoutKey = try run(["debug", "count", "--database", database])
            #expect(withoutKey.status != 0, "an encrypted replica opened without its key")
            let bytes = try Data(contentsOf: URL(fileURLWithPath: database))
            #expect(bytes.range(of: Data("SQLite format 3".utf8)) == nil, "the header is in the clear")
        }
    }
}
