import CRMDomain
import Foundation
import Replica
import ServiceLifecycle

/// Synthetic bedside traffic for testnets: captures survey responses at a steady rate and
/// appends each committed id to a log file, so a testnet can check that no acknowledged
/// write went missing. Rows carry made-up ids only, never patient data.
package struct TrafficService: Service {
    package let replica: Replica
    package let nodeName: String
    package let perSecond: Double
    package let seconds: Double
    /// Stop after this many writes, if given (counting those a previous run of the node logged).
    package var total: Int? = nil
    package let logPath: String

    package func run() async throws {
        try await runUntilShutdown { try await generate() }
    }

    private func generate() async throws {
        if !FileManager.default.fileExists(atPath: logPath) { FileManager.default.createFile(atPath: logPath, contents: nil) }
        guard let log = FileHandle(forWritingAtPath: logPath) else { return }
        log.seekToEndOfFile()
        defer { try? log.close() }
        let interval = 1 / max(perSecond, 0.001)
        let deadline = ContinuousClock.now + .seconds(seconds)
        // A restarted node goes on counting from what it logged before.
        var count = (try? String(contentsOfFile: logPath, encoding: .utf8))?.split(separator: "\n").count ?? 0
        while ContinuousClock.now < deadline, count < (total ?? .max), !Task.isCancelled {
            count += 1
            let index = count
            let id = try await replica.write { tx in
                try tx.insert(
                    into: "surveyResponse",
                    values: [
                        "templateId": "testnet", "templateVersion": 1, "patientId": "TESTNET-\(index)", "wardId": nodeName,
                        "mode": SurveyMode.bedside.rawValue, "staffId": "traffic", "nodeId": nodeName,
                        "submittedAt": ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(replica.wallClock.now()) / 1000)),
                        "answers": "{\"nps\":\(index % 11)}",
                    ])
            }
            log.write(Data("\(id)\n".utf8))
            try? await Task.sleep(for: .seconds(interval))
        }
    }

    package init(replica: Replica, nodeName: String, perSecond: Double, seconds: Double, total: Int? = nil, logPath: String) {
        self.replica = replica
        self.nodeName = nodeName
        self.perSecond = perSecond
        self.seconds = seconds
        self.total = total
        self.logPath = logPath
    }
}
