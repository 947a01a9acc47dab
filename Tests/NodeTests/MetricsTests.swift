import Foundation
import GRDB
import Replica
import TestSupport
import Testing

@testable import NodeRuntime
@testable import Testnets

/// `/metrics` as Prometheus scrapes it from a running central with a ward syncing, and `/api/ready`
/// beside `/api/health`: real processes, the exposition parsed line by line.
@Suite("Metrics and readiness")
struct MetricsTests {
    /// One sample of the exposition: name, labels, value.
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    /// Parses Prometheus text format 0.0.4 (what a scraper reads); a line it cannot parse fails the test.
    static func parse(_ text: String) throws -> [Sample] {
        var samples: [Sample] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
            let (series, value) = try #require(line.lastIndex(of: " ").map { (line[..<$0], line[line.index(after: $0)...]) }, "\(line)")
            let number = try #require(Double(value), "not a number in: \(line)")
            var labels: [String: String] = [:]
            var name = String(series)
            if let open = series.firstIndex(of: "{") {
                name = String(series[..<open])
                #expect(series.hasSuffix("}"), "\(line)")
                let body = series[series.index(after: open)..<series.index(before: series.endIndex)]
                for pair in body.split(separator: ",") where !pair.isEmpty {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    #expect(parts.count == 2 && parts[1].hasPrefix("\"") && parts[1].hasSuffix("\""), "\(line)")
                    labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
                }
            }
            #expect(name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") }, "\(line)")
            samples.append(Sample(name: name, labels: labels, value: number))
        }
        return samples
    }

    static func patientNames(_ directory: String) throws -> [String] {
        try NodeDirectory(directory).replicaFile().queue().read { db in try String.fetchAll(db, sql: "SELECT name FROM patient") }
    }

    @Test func aScrapeOfARunningCentralCountsSyncAndRequestsWithoutPatientData() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let central = root.appendingPathComponent("central").path, ward = root.appendingPathComponent("ward").path
        let sync = try await TestnetRunner.freePort(), http = try await TestnetRunner.freePort()
        let policies = RepositoryFiles.policiesDirectory.path
        func run(_ arguments: [String]) throws -> String {
            let result = try SuifangBinary.run(arguments)
            #expect(result.status == 0, "\(arguments.first ?? ""): \(result.output)")
            return result.output
        }
        _ = try run([
            "init", "--role", "central", "--name", "central", "--dir", central, "--listen", "127.0.0.1:\(sync)", "--http", "127.0.0.1:\(http)",
            "--policies", policies, "--no-encryption",
        ])
        _ = try run(["debug", "load-demo", "--dir", central, "--patients", "20"])
        let token = root.appendingPathComponent("ward.token").path
        _ = try run(["enroll", "--dir", central, "--name", "ward-7", "--role", "ward", "--ward", "W-CARD-1", "--out", token])
        _ = try run(["init", "--token", token, "--dir", ward, "--listen", "127.0.0.1:0", "--policies", policies, "--no-encryption"])
        let scrape = try run(["token", "create", "--dir", central, "--name", "prometheus", "--scope", "metrics", "--json"])
        let printed = try JSONSerialization.jsonObject(with: Data(scrape.split(separator: "\n").last.map(String.init)?.utf8 ?? "".utf8)) as? [String: Any]
        let secret = try #require(printed?["token"] as? String)
        let wrongScope = try #require(
            (try JSONSerialization.jsonObject(
                with: Data((try run(["token", "create", "--dir", central, "--name", "pbx", "--scope", "screen-pop", "--json"])).split(separator: "\n").last!.utf8))
                as? [String: Any])?["token"] as? String)

        let centralProcess = try SuifangBinary.start(["serve", "--dir", central, "--insecure-http"], log: root.appendingPathComponent("central.log").path)
        defer { centralProcess.terminate() }
        let wardProcess = try SuifangBinary.start(["serve", "--dir", ward], log: root.appendingPathComponent("ward.log").path)
        defer { wardProcess.terminate() }

        var samples: [Sample] = []
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let client = try? LoopbackHTTPClient(port: http), let (status, body) = try? client.request("GET", "/metrics", token: secret), status == 200 {
                samples = try Self.parse(body)
                let rows = samples.first { $0.name == "suifang_sync_rows_total" && $0.labels == ["peer": "ward-7", "direction": "out"] }
                let lag = samples.first { $0.name == "suifang_sync_peer_lag_commits" && $0.labels["peer"] == "ward-7" }
                if let rows, rows.value > 0, lag?.value == 0 { break }
            }
            try await Task.sleep(for: .milliseconds(300))
        }
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { sample in sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value } }?.value
        }
        #expect(value("suifang_sync_sessions_total", ["peer": "ward-7", "role": "ward"]) == 1, "\(samples.map(\.name))")
        #expect((value("suifang_sync_rows_total", ["peer": "ward-7", "direction": "out"]) ?? 0) > 0)
        #expect((value("suifang_sync_bytes_total", ["peer": "ward-7", "direction": "out"]) ?? 0) > 0)
        #expect(value("suifang_sync_peer_lag_commits", ["peer": "ward-7"]) == 0, "the ward caught up")
        #expect(value("suifang_sync_peer_connected", ["peer": "ward-7"]) == 1)
        #expect(value("suifang_quarantined_origins") == 0)
        #expect((value("suifang_replica_bytes") ?? 0) > 100_000)
        #expect(value("suifang_build_info", ["version": NodeRelease.version, "role": "central"]) == 1)

        // Requests by route template and status: the answers below show up in the next scrape.
        let client = try LoopbackHTTPClient(port: http)
        let anonymous = try client.request("GET", "/metrics")
        #expect(anonymous.0 == 401, "no credential, no metrics: \(anonymous)")
        #expect(try client.request("GET", "/metrics", token: wrongScope).0 == 403, "a credential of another scope")
        #expect(try client.request("GET", "/api/health").0 == 200)
        let (readyStatus, ready) = try client.request("GET", "/api/ready")
        #expect(readyStatus == 200 && ready.contains("\"ready\":true"), "\(ready)")
        let patient = try #require(try Replica.summary(of: NodeDirectory(central).replicaFile()).rows["patient"])
        #expect(patient >= 20)
        _ = try client.request("GET", "/api/patients/0123456789abcdef", token: secret)
        let (_, text) = try client.request("GET", "/metrics", token: secret)
        let after = try Self.parse(text)
        #expect(after.contains { $0.name == "hb_requests" && $0.labels["http_route"] == "/api/health" && $0.labels["http_response_status_code"] == "200" }, "\(text)")
        #expect(after.contains { $0.name == "hb_requests" && $0.labels["http_route"] == "/metrics" && $0.labels["http_response_status_code"] == "403" })
        // A route with an id is counted under its template, never with the id itself.
        #expect(!text.contains("0123456789abcdef"))
        let names = try Self.patientNames(central)
        #expect(names.count >= 20)
        for name in names { #expect(!text.contains(name), "a patient's name in the metrics") }
    }
}
