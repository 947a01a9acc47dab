import Foundation
import TestSupport
import Testing

/// Every benchmark suite runs end to end at a small scale with the repository's policies (the debug
/// binary): a benchmark that no longer runs is found here, not on the day its numbers are needed.
/// These tests check that each metric is produced, never its value (speed is for release builds).
@Suite("Benchmarks run", .serialized)
struct BenchmarkSmokeTests {
    func run(_ arguments: [String]) throws -> (status: Int32, lines: [[String: Any]], output: String) {
        let (status, output) = try SuifangBinary.run(arguments)
        let lines = output.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
        return (status, lines, output)
    }

    @Test(arguments: [
        (["bench", "replica", "--scale-down", "1000"], ["capture_overhead", "merge_rate_ratio", "metadata_ratio", "changes_since_scaling"]),
        (
            ["bench", "sync", "--scale-down", "1000"],
            [
                "sync_100k_seconds", "sync_rate_ratio", "wire_ratio", "live_latency_p50_ms", "live_latency_p99_ms",
                "peak_rss_mb", "initial_sync_ratio", "nochange_bytes", "nochange_ms", "stream_ratio", "verify_rate_ratio", "scoped_initial_sync_ratio", "backfill_ms",
            ]
        ),
        (["bench", "domain", "--scale-down", "1000"], ["nps_query_ms", "phone_lookup_ms", "api_create_response_p50_ms", "api_create_response_p99_ms"]),
        (
            ["bench", "fleet", "--peers", "4", "--processes", "2", "--seconds", "8", "--outage-seconds", "2"],
            ["fleet_live_p50_ms", "fleet_live_p99_ms", "fleet_central_rss_mb", "fleet_errors", "fleet_reconnect_storm_s"]
        ),
    ])
    func aSuiteProducesEveryMetric(arguments: [String], metrics: [String]) throws {
        try check(arguments, produces: metrics)
    }

    /// The archive's benchmark starts a PostgreSQL of its own (`make test` installs it): it ran
    /// no more for a session once archive sessions stopped creating tables in `public`.
    @Test(.enabled(if: Self.postgresInstalled, "PostgreSQL is not installed (scripts/install-deps.sh test)"))
    func theArchiveSuiteProducesEveryMetric() throws {
        try check(["bench", "archive", "--rows", "3000", "--seconds", "3"], produces: ["archive_rate_ratio", "archive_lag_p99_ms"])
    }

    static var postgresInstalled: Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).contains {
            FileManager.default.fileExists(atPath: "/usr/lib/postgresql/\($0)/bin/initdb")
        }
    }

    private func check(_ arguments: [String], produces metrics: [String]) throws {
        let result = try run(arguments)
        #expect(result.status == 0, "\(arguments.joined(separator: " ")): \(result.output.suffix(400))")
        let produced = Set(result.lines.compactMap { $0["metric"] as? String })
        for metric in metrics {
            #expect(produced.contains(metric), "\(metric) missing from \(arguments.joined(separator: " "))")
        }
        for line in result.lines {
            #expect(line["baseline"] is Double || line["baseline"] is Int, "every metric has its baseline")
        }
    }
}
