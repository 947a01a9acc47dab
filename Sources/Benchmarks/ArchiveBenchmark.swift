import Archive
import Foundation
import GRDB
import Logging
import NodeRuntime
import Replica
import Synchronization
import Testnets

/// `suifang bench archive`: central's archive into a real PostgreSQL (started here).
///
/// - `archive_rate_ratio`: rows/s archived from nothing (read from the replica, COPY, marks, one
///   transaction per page) ÷ rows/s of one plain `COPY` of the same rows into a table of the same
///   shape (primary key included), same server, same run; three rounds of each, the best of each.
/// - `archive_lag_p99_ms`: with the archive writer running as `serve --archive` runs it, central
///   commits at a fleet's rate (200 wards, one response every 3 s each: 67 commits/s); the time
///   from each commit to the commit of the archive page that holds it.
package struct ArchiveBenchmark {
    package var rows: Int
    package var lagSeconds: Double
    package var commitsPerSecond: Double

    package init(rows: Int = 200_000, lagSeconds: Double = 30, commitsPerSecond: Double = 67) {
        self.rows = rows
        self.lagSeconds = lagSeconds
        self.commitsPerSecond = commitsPerSecond
    }

    package func run() async throws {
        let scratch = try ScratchDirectory(prefix: "suifang-bench-archive")
        defer { scratch.remove() }
        let postgres = try TemporaryPostgres(port: try await TestnetRunner.freePort())
        defer { postgres.stop() }
        let target = try ArchiveTarget(url: postgres.url, environmentPassword: nil)
        var logger = Logger(label: "bench")
        logger.logLevel = .error

        // Rate: a central holding `rows` responses, archived from nothing; then the baseline.
        let replica = try Replica.open(at: scratch.path("central.sqlite"), configuration: ReplicaConfiguration(policies: SurveyShape.policies))
        let origin = replica.nodeID, base = UInt64(Date().timeIntervalSince1970 * 1000)
        for start in stride(from: 0, to: rows, by: 1_000) {
            _ = try await replica.write { tx in
                for index in start..<min(start + 1_000, rows) {
                    let key = SurveyShape.key(index: index, origin: origin, baseMilliseconds: base)
                    _ = try tx.insert(into: SurveyShape.table, values: SurveyShape.namedValues(index: index), id: key)
                }
            }
        }
        // Both sides swing by 2× from run to run on this machine (checkpoints, autovacuum of the
        // rows just written, other guests): three rounds of each, in turn, and the best of each.
        // Each round archives from nothing, as another hospital of the same group.
        var archiveRate = 0.0, copyRate = 0.0
        let hospitals = (1...3).map { "bench-\($0)" }
        for hospital in hospitals {
            let writer = try ArchiveWriter(replica: replica, target: target, hospital: hospital, clusterKey: "bench", logger: logger)
            let started = ContinuousClock.now
            let archived: Int
            do {
                archived = try await writer.archiveAll()
            } catch {
                // A benchmark's rows are synthetic: PostgreSQL's full message may be shown.
                throw NodeSetupError("archiving failed: \(String(reflecting: error))")
            }
            guard archived == rows else { throw NodeSetupError("archived \(archived) rows of \(rows)") }
            archiveRate = max(archiveRate, Double(archived) / (ContinuousClock.now - started).seconds)
            let copy = try await writer.timePlainCopy(of: SurveyShape.table)
            copyRate = max(copyRate, Double(copy.rows) / copy.duration.seconds)
        }
        print(
            BenchmarkResult(
                suite: "archive", metric: "archive_rate_ratio", value: archiveRate / copyRate, unit: "ratio", baseline: copyRate, goal: ">= 0.5",
                goalOnValue: true, baselineUnit: "rows/s plain COPY (archived \(Int(archiveRate)) rows/s)"
            ).jsonLine)
        fflush(nil)

        // Lag under a fleet's write rate.
        // On the last hospital: every row is archived, so each page holds the commits of the load.
        let lag = try await lagUnderLoad(replica: replica, target: target, hospital: hospitals.last!, logger: logger)
        let p99 = lag[min(lag.count - 1, lag.count * 99 / 100)], p50 = lag[lag.count / 2]
        print(
            BenchmarkResult(
                suite: "archive", metric: "archive_lag_p99_ms", value: p99, unit: "ms", baseline: Double(lag.count), goal: "<= 2000", goalOnValue: true,
                baselineUnit: "commits (p50 \(Int(p50)) ms)"
            ).jsonLine)
    }

    /// Commits at `commitsPerSecond` for `lagSeconds` with the archive writer running; the lag of
    /// each commit, sorted, in milliseconds.
    private func lagUnderLoad(replica: Replica, target: ArchiveTarget, hospital: String, logger: Logger) async throws -> [Double] {
        let committed = Mutex<[UInt64: ContinuousClock.Instant]>([:])
        let lags = Mutex<[Double]>([])
        let origin = replica.nodeID
        var writer = try ArchiveWriter(replica: replica, target: target, hospital: hospital, clusterKey: "bench", logger: logger)
        writer.onArchived = { page in
            let now = ContinuousClock.now
            committed.withLock { pending in
                for (seq, at) in pending where seq <= page.marks[origin] {
                    lags.withLock { $0.append((now - at).seconds * 1000) }
                    pending[seq] = nil
                }
            }
        }
        let archiving = Task { [writer] in try await writer.run() }
        defer { archiving.cancel() }
        let interval = 1 / commitsPerSecond, base = UInt64(Date().timeIntervalSince1970 * 1000)
        let end = ContinuousClock.now + .seconds(lagSeconds)
        var index = rows
        while ContinuousClock.now < end {
            let key = SurveyShape.key(index: index, origin: origin, baseMilliseconds: base), values = SurveyShape.namedValues(index: index)
            _ = try await replica.write { tx in try tx.insert(into: SurveyShape.table, values: values, id: key) }
            let seq = try replica.versionVector()[origin]
            committed.withLock { $0[seq] = ContinuousClock.now }
            index += 1
            try await Task.sleep(for: .seconds(interval))
        }
        // The last commits arrive within seconds.
        for _ in 0..<100 where committed.withLock({ !$0.isEmpty }) { try await Task.sleep(for: .milliseconds(100)) }
        let unarchived = committed.withLock { $0.count }
        if unarchived > 0 { throw NodeSetupError("\(unarchived) commits were not archived within 10 s of the end") }
        return lags.withLock { $0 }.sorted()
    }
}

extension Duration {
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
