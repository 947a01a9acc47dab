import NodeHTTP
import NodeRuntime
import Foundation

/// One benchmark result, printed as one JSON line:
/// `{"suite":…,"metric":…,"value":…,"unit":…,"baseline":…,"ratio":…,"goal":…}`.
struct BenchmarkResult {
    var suite: String
    var metric: String
    var value: Double
    var unit: String
    var baseline: Double
    /// value ÷ baseline.
    var ratio: Double { baseline == 0 ? 0 : value / baseline }
    /// The goal, e.g. `<= 1.3`: on the ratio, or on the value when `goalOnValue`.
    var goal: String
    var goalOnValue = false
    /// What the baseline measures, when it is not the same unit as the value.
    var baselineUnit: String?

    var met: Bool {
        let parts = goal.split(separator: " ")
        guard parts.count == 2, let bound = Double(parts[1]) else { return false }
        let measured = goalOnValue ? value : ratio
        return parts[0] == "<=" ? measured <= bound : measured >= bound
    }

    var jsonLine: String {
        func number(_ x: Double) -> String { x.isFinite ? String(format: "%.4g", x) : "null" }
        return "{\"suite\":\"\(suite)\",\"metric\":\"\(metric)\",\"value\":\(number(value)),\"unit\":\"\(unit)\","
            + "\"baseline\":\(number(baseline)),\"ratio\":\(number(ratio)),\"goal\":\"\(goal)\",\"goalOn\":\"\(goalOnValue ? "value" : "ratio")\","
            + (baselineUnit.map { "\"baselineUnit\":\"\($0)\"," } ?? "") + "\"met\":\(met)}"
    }
}

/// Monotonic seconds.
func measure(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// A scratch directory removed at the end.
struct ScratchDirectory {
    let url: URL

    init(prefix: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func remove() { try? FileManager.default.removeItem(at: url) }
}
