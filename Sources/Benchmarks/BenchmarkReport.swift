import Foundation
import NodeHTTP
import NodeRuntime
import Testnets

/// One benchmark result, printed as one JSON line:
/// `{"suite":…,"metric":…,"value":…,"unit":…,"baseline":…,"ratio":…,"goal":…}`.
package struct BenchmarkResult {
    package var suite: String
    package var metric: String
    package var value: Double
    package var unit: String
    package var baseline: Double
    /// value ÷ baseline.
    package var ratio: Double { baseline == 0 ? 0 : value / baseline }
    /// The goal, e.g. `<= 1.3`: on the ratio, or on the value when `goalOnValue`.
    package var goal: String
    package var goalOnValue = false
    /// What the baseline measures, when it is not the same unit as the value.
    package var baselineUnit: String?

    package var met: Bool {
        let parts = goal.split(separator: " ")
        guard parts.count == 2, let bound = Double(parts[1]) else { return false }
        let measured = goalOnValue ? value : ratio
        return parts[0] == "<=" ? measured <= bound : measured >= bound
    }

    package var jsonLine: String {
        func number(_ x: Double) -> String { x.isFinite ? String(format: "%.4g", x) : "null" }
        return "{\"suite\":\"\(suite)\",\"metric\":\"\(metric)\",\"value\":\(number(value)),\"unit\":\"\(unit)\","
            + "\"baseline\":\(number(baseline)),\"ratio\":\(number(ratio)),\"goal\":\"\(goal)\",\"goalOn\":\"\(goalOnValue ? "value" : "ratio")\","
            + (baselineUnit.map { "\"baselineUnit\":\"\($0)\"," } ?? "") + "\"met\":\(met)}"
    }

    package init(
        suite: String, metric: String, value: Double, unit: String, baseline: Double, goal: String, goalOnValue: Bool = false,
        baselineUnit: String? = nil
    ) {
        self.suite = suite
        self.metric = metric
        self.value = value
        self.unit = unit
        self.baseline = baseline
        self.goal = goal
        self.goalOnValue = goalOnValue
        self.baselineUnit = baselineUnit
    }
}

/// Monotonic seconds.
package func measure(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// ``measure(_:)`` of asynchronous work (the domain's calls).
package func measure(_ body: () async throws -> Void) async rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try await body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// A scratch directory removed at the end (kept, and named on stderr, when the environment sets
/// `SUIFANG_BENCH_KEEP`: to look at the databases a benchmark built).
package struct ScratchDirectory {
    package let url: URL

    package init(prefix: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    package func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    package func remove() {
        guard ProcessInfo.processInfo.environment["SUIFANG_BENCH_KEEP"] == nil else {
            FileHandle.standardError.write(Data("scratch kept: \(url.path)\n".utf8))
            return
        }
        try? FileManager.default.removeItem(at: url)
    }
}
