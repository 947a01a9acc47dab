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

    @Test(arguments: [1, 2_500, 4_999])
    func aProcessKilledMidBatchLeavesAllOrNothing(crashAfter: Int) throws {
        let file = TemporaryDatabase("crash")
        defer { file.remove() }
        let database = file.path
        let crashed = try run(["debug", "apply-and-crash", "--database", database, "--rows", "5000", "--crash-after", "\(crashAfter)"])
        #expect(crashed.killed && crashed.status == 9, "expected SIGKILL: \(crashed.output)")
        let afterCrash = try run(["debug", "count", "--database", database])
        #expect(afterCrash.output.contains("rows=0 commits=0 integrity=ok"), "\(afterCrash.output)")
        let finished = try run(["debug", "apply-and-crash", "--database", database, "--rows", "5000"])
        #expect(finished.status == 0, "\(finished.output)")
        let afterFinish = try run(["debug", "count", "--database", database])
        #expect(afterFinish.output.contains("rows=5000 commits=5000 integrity=ok"), "\(afterFinish.output)")
    }
}
