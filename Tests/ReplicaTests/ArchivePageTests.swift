import Foundation
import GRDB
import TestSupport
import Testing

@testable import Replica

/// What the archive reads from a replica: pages of whole commits, bounded in rows and in bytes,
/// that together cover every row once, as it stands now.
@Suite("Archive pages")
struct ArchivePageTests {
    /// A replica of `count` entries of `size` bytes each, one commit each.
    private func replica(_ name: String, count: Int, size: Int) async throws -> (TemporaryDatabase, Replica) {
        let file = TemporaryDatabase(name)
        let replica = try Replica.open(at: file.path, configuration: ReplicaConfiguration(policies: testPolicies))
        for index in 0..<count {
            _ = try await replica.write { tx in
                try tx.insert(into: "entry", values: ["body": String(repeating: "x", count: size) + "\(index)", "score": index])
            }
        }
        return (file, replica)
    }

    /// Large rows (a hostile ward's 200 KB texts) must not make a page of thousands of them:
    /// the page stops at its byte budget, and paging on still covers every row exactly once.
    @Test func pagesOfLargeRowsStayWithinTheirByteBudget() async throws {
        let (file, replica) = try await replica("archive-bytes", count: 40, size: 200_000)
        defer { file.remove() }
        var marks = VersionVector()
        var keys: [String] = []
        var pages = 0
        while true {
            let page = try replica.archivePage(after: marks, maxRows: 5_000, maxBytes: 1 << 20)
            if page.isEmpty { break }
            pages += 1
            let bytes = page.tables.flatMap(\.rows).reduce(0) { $0 + $1.byteCount }
            // Whole commits: the one that crosses the budget is the last taken.
            #expect(bytes < (1 << 20) + 210_000, "a page of \(bytes) bytes")
            keys += page.tables.flatMap(\.rows).map(\.key)
            marks = page.marks
        }
        #expect(pages >= 6)
        #expect(keys.count == 40 && Set(keys).count == 40)
        #expect(marks == (try replica.versionVector()))
    }

    /// A commit larger than the budget is still taken (alone): the archive never stops at it.
    @Test func aCommitLargerThanTheBudgetIsTakenAlone() async throws {
        let (file, replica) = try await replica("archive-one", count: 2, size: 300_000)
        defer { file.remove() }
        let page = try replica.archivePage(after: VersionVector(), maxRows: 5_000, maxBytes: 100_000)
        #expect(page.commits == 1 && page.rowCount == 1)
    }

    /// One small commit touching many rows that other commits made large (a hostile ward's
    /// trick) is split across pages: each stays within its budget, the marks pass the commit
    /// only with its last row, and the pages together hold every row once.
    @Test func aCommitTouchingManyLargeRowsIsSplitAcrossPages() async throws {
        let (file, replica) = try await replica("archive-split", count: 0, size: 0)
        defer { file.remove() }
        var keys: [String] = []
        for index in 0..<20 {
            keys.append(try await replica.write { tx in try tx.insert(into: "item", values: ["name": String(repeating: "y", count: 200_000) + "\(index)", "visits": 1]) })
        }
        let before = try replica.versionVector()
        _ = try await replica.write { [keys] tx in
            for key in keys { try tx.update("item", id: key, set: ["visits": 2]) }
        }
        var marks = before
        var resume: ArchiveCursor?
        var taken: [String] = []
        var pages = 0
        while true {
            let page = try replica.archivePage(after: marks, resume: resume, maxRows: 5_000, maxBytes: 1 << 20)
            if page.isEmpty { break }
            pages += 1
            let bytes = page.tables.flatMap(\.rows).reduce(0) { $0 + $1.byteCount }
            #expect(bytes < (1 << 20) + 210_000, "a page of \(bytes) bytes")
            #expect(page.resume == nil ? page.marks == (try replica.versionVector()) : page.marks == before)
            taken += page.tables.flatMap(\.rows).map(\.key)
            (marks, resume) = (page.marks, page.resume)
        }
        #expect(pages >= 4)
        #expect(taken.sorted() == keys.sorted())
        #expect(marks == (try replica.versionVector()))
    }

    /// A row touched by several commits of one page is archived once, with the last commit.
    @Test func aRowChangedTwiceInAPageIsArchivedOnceWithItsLastCommit() async throws {
        let (file, replica) = try await replica("archive-twice", count: 0, size: 0)
        defer { file.remove() }
        let key = try await replica.write { tx in try tx.insert(into: "item", values: ["name": "first", "visits": 1]) }
        _ = try await replica.write { tx in try tx.update("item", id: key, set: ["visits": 99]) }
        let page = try replica.archivePage(after: VersionVector())
        let rows = page.tables.flatMap(\.rows)
        #expect(rows.count == 1 && page.commits == 2)
        #expect(rows.first?.seq == page.marks.sorted.first?.seq)
        #expect(rows.first?.values?.contains(99.databaseValue) == true)
    }

    /// A row is new to the archive when the first commit of the page that touched it created it:
    /// the archive writes those by COPY without asking whether it holds them.
    @Test func rowsCreatedInAPageAreMarkedNewAndChangedOnesAreNot() async throws {
        let (file, replica) = try await replica("archive-new", count: 0, size: 0)
        defer { file.remove() }
        let old = try await replica.write { tx in try tx.insert(into: "item", values: ["name": "old", "visits": 1]) }
        let first = try replica.archivePage(after: VersionVector())
        #expect(first.tables.flatMap(\.rows).map(\.isNew) == [true])
        _ = try await replica.write { tx in try tx.update("item", id: old, set: ["visits": 2]) }
        let fresh = try await replica.write { tx in try tx.insert(into: "item", values: ["name": "fresh", "visits": 1]) }
        let second = try replica.archivePage(after: first.marks)
        let rows = Dictionary(uniqueKeysWithValues: second.tables.flatMap(\.rows).map { ($0.key, $0.isNew) })
        #expect(rows == [old: false, fresh: true])
    }

    /// Pages read their rows in batches of keys (`BatchedRowLookup`): every row of every page is
    /// the row as it stands now, whatever its table, whether it changed or went, wherever the
    /// budget cuts a batch; and the pages together hold every row.
    @Test(arguments: [(37, 1 << 20), (64, 1 << 20), (5_000, 2_000)])
    func rowsReadInBatchesAreTheRowsAsTheyStand(maxRows: Int, maxBytes: Int) async throws {
        let (file, replica) = try await replica("archive-batched-\(maxRows)", count: 0, size: 0)
        defer { file.remove() }
        var keys: [String] = []
        for round in 0..<5 {
            keys += try await replica.write { tx in
                var keys: [String] = []
                for index in 0..<50 {
                    keys.append(try tx.insert(into: "item", values: ["name": "n\(round)-\(index)", "visits": index]))
                    keys.append(try tx.insert(into: "entry", values: ["body": "e\(round)-\(index)\t\\", "score": index]))
                }
                return keys
            }
        }
        let items = stride(from: 0, to: keys.count, by: 2).map { keys[$0] }
        _ = try await replica.write { tx in for key in items.prefix(60) { try tx.update("item", id: key, set: ["visits": 1_000]) } }
        _ = try await replica.write { tx in for key in items.suffix(30) { try tx.delete(from: "item", id: key) } }
        var marks = VersionVector()
        var resume: ArchiveCursor?
        var seen: Set<String> = []
        var gone = 0
        while true {
            let page = try replica.archivePage(after: marks, resume: resume, maxRows: maxRows, maxBytes: maxBytes)
            if page.isEmpty { break }
            #expect(page.rowCount <= maxRows)
            for (declaration, rows) in page.tables {
                for row in rows {
                    let expected = try await replica.read { db in
                        try Row.fetchOne(db, sql: "SELECT * FROM \(declaration.name) WHERE id = ?", arguments: [row.key])
                            .map { stored in declaration.columns.map { stored[$0.name] as DatabaseValue } }
                    }
                    #expect(row.values == expected, "row \(row.key) of \(declaration.name)")
                    if row.values == nil { gone += 1 }
                    seen.insert(row.key)
                }
            }
            (marks, resume) = (page.marks, page.resume)
        }
        #expect(seen == Set(keys))
        #expect(gone >= 30)
        #expect(marks == (try replica.versionVector()))
    }

    /// Rows whose keys are canonically equivalent ("X-K1", "X-\u{212A}1" with a Kelvin sign) are
    /// two rows in a page, each read as it stands.
    @Test func rowsWithEquivalentKeysAreTwoRows() async throws {
        let (file, replica) = try await replica("archive-lookalike", count: 0, size: 0)
        defer { file.remove() }
        _ = try await replica.write { tx in
            _ = try tx.insert(into: "item", values: ["name": "plain", "visits": 1], id: "X-K1")
            _ = try tx.insert(into: "item", values: ["name": "kelvin", "visits": 2], id: "X-\u{212A}1")
        }
        let rows = try replica.archivePage(after: VersionVector()).tables.flatMap(\.rows)
        #expect(rows.map { Array($0.key.utf8) }.sorted { $0.lexicographicallyPrecedes($1) } == [Array("X-K1".utf8), Array("X-\u{212A}1".utf8)])
        #expect(rows.compactMap { $0.values?.first }.count == 2)
        #expect(Set(rows.compactMap { $0.values?.first.flatMap(String.fromDatabaseValue) }) == ["plain", "kelvin"])
    }

    /// A declared table may be called anything, the names the batched lookup uses itself included.
    @Test func aTableNamedLikeTheLookupsOwnNamesIsArchived() throws {
        let policies = try PolicySet(parsing: "table k\n  key id\n  column i text\n")
        let replica = try Replica.inMemory(configuration: ReplicaConfiguration(nodeID: NodeID(1), policies: policies))
        let id = try replica.write { try $0.insert(into: "k", values: ["i": "one"]) }
        let rows = try replica.archivePage(after: VersionVector()).tables.flatMap(\.rows)
        #expect(rows.map(\.key) == [id] && rows.first?.values == ["one".databaseValue])
    }
}
