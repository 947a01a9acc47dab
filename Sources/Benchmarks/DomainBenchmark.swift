import CRMDomain
import Foundation
import GRDB
import Hummingbird
import Logging
import NodeHTTP
import NodeRuntime
import Replica
import Sodium
import Testnets

/// `suifang bench domain`: the CRM's hot paths against plain SQLite in the same run.
///
/// - `nps_query_ms`: NPS per ward × month over 1,000,000 responses; baseline: the same GROUP BY on
///   a plain table with the same columns and index.
/// - `phone_lookup_ms`: caller-ID lookup among 1,000,000 patients (normalising the number,
///   following merges, checking the blacklist); baseline: one indexed SELECT on a plain table.
/// - `api_create_response_p50_ms` / `_p99_ms`: submitting a survey response over HTTP on loopback
///   to a ward node (validation, capture, audit); baseline: one plain INSERT in its own transaction.
/// - `mllp_adt_per_s`: HIS admissions and discharges over MLLP ÷ the API's encounter creation
///   rate (``mllpAdmissions(_:)``).
package struct DomainBenchmark {
    package var policies: PolicyDirectory
    package var scaleDown: Int
    package var only: String?

    package init(policies: PolicyDirectory, scaleDown: Int, only: String?) {
        self.policies = policies
        self.scaleDown = scaleDown
        self.only = only
    }

    package func run() async throws {
        let scratch = try ScratchDirectory(prefix: "suifang-bench-domain")
        defer { scratch.remove() }
        let policySet = try policies.load()
        if only == nil || only == "nps" { await print(try npsQuery(scratch, policySet).jsonLine) }
        if only == nil || only == "phone" { await print(try phoneLookup(scratch, policySet).jsonLine) }
        if only == nil || only == "api" { for result in try await apiCreateResponse(scratch) { print(result.jsonLine) } }
        if only == nil || only == "mllp" { for result in try await mllpAdmissions(scratch) { print(result.jsonLine) } }
    }

    package static let manager = Caller(userId: "bench", role: .manager)

    // MARK: nps_query_ms

    private func npsQuery(_ scratch: ScratchDirectory, _ policySet: PolicySet) async throws -> BenchmarkResult {
        let count = 1_000_000 / scaleDown
        let replica = try Replica.open(at: scratch.path("nps.sqlite"), configuration: ReplicaConfiguration(policies: policySet))
        let crm = try CRM(replica: replica, passwordStrength: .minimum)
        let plain = try Self.plainDatabase(
            scratch.path("nps-plain.sqlite"),
            """
            CREATE TABLE surveyResponse (id TEXT PRIMARY KEY, templateId TEXT, templateVersion INTEGER, patientId TEXT, wardId TEXT,
                departmentId TEXT, mode TEXT, staffId TEXT, nodeId TEXT, taskId TEXT, startedAt TEXT, submittedAt TEXT, answers TEXT,
                overall INTEGER, recommend INTEGER);
            CREATE INDEX plain_nps ON surveyResponse(wardId, submittedAt, mode, recommend);
            """)
        let declaration = policySet.table(named: "surveyResponse")!
        var chain = ChainWriter(authority: SharedSecretTrust(nodeID: NodeID(0xBE)), policies: policySet)
        let chunk = 20_000
        for start in stride(from: 0, to: count, by: chunk) {
            let rows = (start..<min(start + chunk, count)).map(Self.response)
            for (offset, row) in rows.enumerated() {
                try chain.commit(
                    inserting: [("surveyResponse", row.id, declaration.columns.map { row.values[$0.name] ?? .null })],
                    at: HLC(milliseconds: 1_780_000_000_000 + UInt64(start + offset), counter: 0))
            }
            try await replica.apply(ChangeBatch(segments: [chain.segment()]))
            try await plain.write { db in
                let statement = try db.makeStatement(
                    sql:
                        "INSERT INTO surveyResponse (id, \(declaration.columns.map(\.name).joined(separator: ", "))) VALUES (?\(String(repeating: ", ?", count: declaration.columns.count)))"
                )
                for row in rows {
                    try statement.execute(arguments: StatementArguments([row.id.databaseValue] + declaration.columns.map { row.values[$0.name] ?? .null }))
                }
            }
        }
        try await replica.writeLocal { db in try db.execute(sql: "ANALYZE") }
        try await plain.write { db in try db.execute(sql: "ANALYZE") }
        let range = DayRange(from: "2026-01-01", to: "2026-12-31")
        var rows = 0
        let ours = try await await Self.median(runs: 7) { rows = try await crm.statistics.nps(Self.manager, range: range, period: .month).count }
        let baseline = try await Self.median(runs: 7) {
            _ = try plain.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT wardId, substr(submittedAt, 1, 7) AS period, mode, SUM(recommend >= 9), SUM(recommend BETWEEN 7 AND 8), SUM(recommend <= 6), COUNT(recommend)
                        FROM surveyResponse WHERE wardId > '' AND submittedAt >= ? AND submittedAt < ? AND recommend IS NOT NULL
                        GROUP BY wardId, period, mode
                        """, arguments: [range.from, range.to + "T99"])
            }
        }
        // Every (ward, month, mode) group has responses once there are as many responses as groups.
        let groups = min(24 * 12 * 4, count)
        guard rows == groups else { throw NodeSetupError("nps query returned \(rows) rows, expected \(groups)") }
        return BenchmarkResult(
            suite: "domain", metric: "nps_query_ms", value: ours * 1000, unit: "ms", baseline: baseline * 1000,
            goal: "<= 200", goalOnValue: true)
    }

    /// Response number `index`: 24 wards, 12 months of 2026, 4 modes, scores spread.
    package static func response(_ index: Int) -> (id: String, values: [String: DatabaseValue]) {
        let month = 1 + (index / 96) % 12, day = 1 + (index / 1152) % 28
        let recommend = (index * 7) % 11
        return (
            String(format: "01BENCHRESP%013d", index),
            [
                "templateId": "bedside".databaseValue, "templateVersion": 1.databaseValue, "patientId": "P\(index % 250_000)".databaseValue,
                "wardId": "W-\(index % 24)".databaseValue, "departmentId": "D-\(index % 12)".databaseValue,
                "mode": ["bedside", "phone", "sms", "kiosk"][(index / 24) % 4].databaseValue, "staffId": "S\(index % 60)".databaseValue,
                "nodeId": "bench".databaseValue,
                "submittedAt": String(format: "2026-%02d-%02dT10:%02d:00+08:00", month, day, index % 60).databaseValue,
                "answers": "{\"overall\":\(1 + index % 5),\"recommend\":\(recommend)}".databaseValue,
                "overall": (1 + index % 5).databaseValue, "recommend": recommend.databaseValue,
            ]
        )
    }

    // MARK: phone_lookup_ms

    private func phoneLookup(_ scratch: ScratchDirectory, _ policySet: PolicySet) async throws -> BenchmarkResult {
        let count = 1_000_000 / scaleDown
        let replica = try Replica.open(at: scratch.path("phone.sqlite"), configuration: ReplicaConfiguration(policies: policySet))
        let crm = try CRM(replica: replica, passwordStrength: .minimum)
        let plain = try Self.plainDatabase(
            scratch.path("phone-plain.sqlite"),
            "CREATE TABLE patient (id TEXT PRIMARY KEY, name TEXT, birthDate TEXT, phone TEXT, region TEXT); CREATE INDEX plain_phone ON patient(phone)")
        let chunk = 20_000
        for start in stride(from: 0, to: count, by: chunk) {
            let range = start..<min(start + chunk, count)
            try await replica.write { tx in
                for index in range {
                    try tx.insert(
                        into: "patient",
                        values: [
                            "name": "患者\(index)", "birthDate": "1970-01-01", "phone": Self.phone(index),
                            "region": "鼓楼区", "tags": SetCodec.encode([]),
                        ], id: String(format: "P%09d", index))
                }
            }
            try await plain.write { db in
                let statement = try db.makeStatement(sql: "INSERT INTO patient (id, name, birthDate, phone, region) VALUES (?, ?, ?, ?, ?)")
                for index in range {
                    try statement.execute(arguments: [String(format: "P%09d", index), "患者\(index)", "1970-01-01", Self.phone(index), "鼓楼区"])
                }
            }
        }
        let agent = Caller(userId: "bench", role: .agent)
        let lookups = 2_000
        var found = 0
        let ours =
            try await measure {
                for probe in 0..<lookups {
                    let index = (probe * 7919) % count
                    let number = "+86 " + Self.phone(index).prefix(3) + "-" + Self.phone(index).dropFirst(3).prefix(4) + "-" + Self.phone(index).suffix(4)
                    found += try await crm.patients.lookupCaller(agent, phone: number).patients.count
                }
            } / Double(lookups)
        let baseline =
            try measure {
                for probe in 0..<lookups {
                    _ = try plain.read { db in try Row.fetchAll(db, sql: "SELECT * FROM patient WHERE phone = ?", arguments: [Self.phone((probe * 7919) % count)]) }
                }
            } / Double(lookups)
        guard found == lookups else { throw NodeSetupError("caller-ID lookups found \(found) of \(lookups)") }
        return BenchmarkResult(
            suite: "domain", metric: "phone_lookup_ms", value: ours * 1000, unit: "ms", baseline: baseline * 1000,
            goal: "<= 10", goalOnValue: true)
    }

    package static func phone(_ index: Int) -> String { "139" + String(format: "%08d", index) }

    // MARK: api_create_response

    private func apiCreateResponse(_ scratch: ScratchDirectory) async throws -> [BenchmarkResult] {
        let submissions = 3_000 / scaleDown
        try NodeTool().makeCluster(
            in: scratch.url, central: ("central", try await TestnetRunner.freePort()),
            others: [("ward", "ward", try await TestnetRunner.freePort())], wards: ["ward": ["W-CARD-1", "W-CARD-2"]],
            policies: policies.resolvedPath)
        // The ward holds the demo hospital (a small one: the latency does not depend on its size),
        // loaded at central (administration happens there) and synced.
        let (_, _, central) = try NodeRuntime.open(directory: scratch.path("central"), logger: quietLogger, passwordStrength: .minimum)
        _ = try await HospitalGenerator(seed: 1, patients: 1_000, password: "bench-password").load(into: central.crm)
        let (_, configuration, runtime) = try NodeRuntime.open(directory: scratch.path("ward"), logger: quietLogger)
        var cursor: ChangeCursor?
        let since = try runtime.replica.versionVector()
        repeat {
            let page = try central.replica.changes(since: since, after: cursor)
            try await runtime.replica.apply(page.batch)
            cursor = page.next
        } while cursor != nil
        // A patient of the visitor's ward (a visitor surveys only the patients of its ward).
        let patient = try await central.replica.read { db in
            try String.fetchOne(db, sql: "SELECT patientId FROM encounter WHERE wardId = 'W-CARD-1' AND cancelled IS NOT 1 ORDER BY dischargedAt IS NOT NULL, admittedAt DESC")
        }
        guard let patient else { throw NodeSetupError("the demo hospital has no patient in W-CARD-1") }

        let (server, port) = try await Self.loopbackAPI(runtime, configuration)
        defer { server.cancel() }
        let client = try LoopbackHTTPClient(port: port)
        let bearer = try Self.logIn(client, "nurse-card", "bench-password")
        let bodies = (0..<submissions).map { index in
            #"{"id":"\#(String(format: "01BENCHAPI%014d", index))","templateId":"bedside","templateVersion":1,"patientId":"\#(patient)","wardId":"W-CARD-1","departmentId":"D-CARD","mode":"bedside","submittedAt":"2026-11-23T10:00:00+08:00","answers":{"overall":\#(1 + index % 5),"nursing":4,"environment":"good","recommend":\#(index % 11),"comment":"病房干净"}}"#
        }
        let plain = try Self.plainDatabase(
            scratch.path("api-plain.sqlite"),
            "CREATE TABLE surveyResponse (id TEXT PRIMARY KEY, templateId TEXT, templateVersion INTEGER, patientId TEXT, wardId TEXT, mode TEXT, submittedAt TEXT, answers TEXT)")
        var latencies: [Double] = [], baselines: [Double] = []
        for (index, body) in bodies.enumerated() {
            let start = DispatchTime.now().uptimeNanoseconds
            let (code, _) = try client.request("POST", "/api/responses", body: body, token: bearer)
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            guard code == 201 else { throw NodeSetupError("submission \(index) answered \(code)") }
            baselines.append(
                try measure {
                    try plain.write { db in
                        try db.execute(
                            sql: "INSERT INTO surveyResponse VALUES (?, 'bedside', 1, ?, 'W-CARD', 'bedside', '2026-11-23T10:00:00+08:00', ?)",
                            arguments: [String(format: "01BENCHAPI%014d", index), patient, body])
                    }
                } * 1000)
        }
        latencies.sort()
        baselines.sort()
        func percentile(_ values: [Double], _ p: Double) -> Double { values[min(values.count - 1, Int(Double(values.count) * p))] }
        return [
            BenchmarkResult(
                suite: "domain", metric: "api_create_response_p50_ms", value: percentile(latencies, 0.5), unit: "ms",
                baseline: percentile(baselines, 0.5), goal: "<= 5", goalOnValue: true),
            BenchmarkResult(
                suite: "domain", metric: "api_create_response_p99_ms", value: percentile(latencies, 0.99), unit: "ms",
                baseline: percentile(baselines, 0.99), goal: "<= 25", goalOnValue: true),
        ]
    }

    /// `runtime`'s API on a loopback port: port 0, and the port the server got (a port picked
    /// beforehand may be taken meanwhile by another process, whose listener would answer).
    static func loopbackAPI(_ runtime: NodeRuntime, _ configuration: NodeConfiguration) async throws -> (server: Task<Void, any Error>, port: Int) {
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let (bound, reportPort) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: buildRouter(runtime: runtime, configuration: configuration),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "suifang"),
            onServerRunning: { channel in
                reportPort.yield(channel.localAddress?.port ?? 0)
                reportPort.finish()
            }, logger: logger)
        let server = Task { try await app.runService() }
        var ports = bound.makeAsyncIterator()
        guard let port = await ports.next(), port > 0 else {
            server.cancel()
            throw NodeSetupError("the API did not start")
        }
        return (server, port)
    }

    /// Logs `user` in over `client` and returns the session token.
    static func logIn(_ client: LoopbackHTTPClient, _ user: String, _ password: String) throws -> String {
        let (status, login) = try client.request("POST", "/api/login", body: #"{"username":"\#(user)","password":"\#(password)"}"#)
        guard status == 200, let session = try JSONSerialization.jsonObject(with: Data(login.utf8)) as? [String: Any], let token = session["token"] as? String else {
            throw NodeSetupError("login failed: \(status)")
        }
        return token
    }

    /// A plain SQLite database with the replica's pragmas and `schema`.
    package static func plainDatabase(_ path: String, _ schema: String) throws -> DatabaseQueue {
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in
            for pragma in Replica.pragmas(cacheSizeKiB: ReplicaConfiguration.defaultCacheSizeKiB) { try db.execute(sql: pragma) }
        }
        try queue.write { db in try db.execute(sql: schema) }
        return queue
    }

    package static func median(runs: Int, _ body: () async throws -> Void) async rethrows -> Double {
        try await body()  // warm the cache
        var times: [Double] = []
        for _ in 0..<runs { times.append(try await measure(body)) }
        return times.sorted()[runs / 2]
    }
}
