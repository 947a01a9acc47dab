import Foundation
import GRDB
import TestSupport
import Testing

@testable import Replica

/// Sessions read synchronously on the cooperative pool; the domain reads from `async` code. With
/// GRDB's own `async` read, a reader connection is given back only when its task resumes on the
/// cooperative pool: a reconnect storm (every thread of that pool waiting for a reader) stopped
/// central for good. ``Replica/read(_:)`` gives readers back from a running thread.
@Suite("Reader pool under a storm")
struct ReaderPoolTests {
    @Test(.timeLimit(.minutes(1)))
    func synchronousAndAsyncReadsAtOnceNeverWaitForEachOtherForever() async throws {
        let file = TemporaryDatabase("readers")
        defer { file.remove() }
        let replica = try Replica.open(at: file.path, configuration: ReplicaConfiguration(policies: testPolicies))
        _ = try await replica.write { tx in try tx.insert(into: "entry", values: ["body": "x", "score": 1]) }
        // Many more readers wanted at once than the pool holds (5), half of them blocking the
        // cooperative threads they run on, as a session's reads do.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<600 {
                if index.isMultiple(of: 2) {
                    group.addTask {
                        _ = try await replica.read { db in
                            usleep(100)
                            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM entry")
                        }
                    }
                } else {
                    group.addTask { _ = try replica.versionVector() }
                }
            }
            try await group.waitForAll()
        }
    }

    /// The rule kept where it is easy to break: no `async` code in the product reads through
    /// GRDB's `async` read.
    @Test func noProductCodeAwaitsGRDBsOwnAsyncRead() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources").standardized
        var offenders: [String] = []
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)
        while let url = files?.nextObject() as? URL {
            guard url.pathExtension == "swift" else { continue }
            let text = try String(contentsOf: url, encoding: .utf8)
            if text.range(of: #"await\s+[A-Za-z_.]*reader\.read\b"#, options: .regularExpression) != nil { offenders.append(url.lastPathComponent) }
        }
        #expect(offenders.isEmpty, "use Replica.read(_:) from async code: \(offenders)")
    }
}
