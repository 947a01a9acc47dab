import Archive
import ArgumentParser
import AsyncHTTPClient
import Benchmarks
import CRMDomain
import Foundation
import Logging
import NodeHTTP
import NodeRuntime
import Replica
import ServiceLifecycle
import SyncProtocol
import Testnets
import UnixSignals

/// Options shared by commands that work on a node directory.
struct NodeOptions: ParsableArguments {
    @Option(help: "The node's data directory.")
    var dir: String

    @Option(name: .customLong("policies"), help: "Override the policies directory (default: DIR/policies).")
    var policies: String?

    @OptionGroup var unlock: UnlockOptions

    /// Opens the node: configuration, identity and replica.
    /// - Parameter clockSkewMilliseconds: shifts the node's wall clock (testnets use it to model a wrong tablet clock).
    func open(logger: Logger, clockSkewMilliseconds: Int64 = 0) throws -> (NodeDirectory, NodeConfiguration, NodeRuntime) {
        try NodeRuntime.open(directory: directory(), policies: policies, logger: logger, clockSkewMilliseconds: clockSkewMilliseconds)
    }

    func directory() throws -> NodeDirectory {
        NodeDirectory(dir, unlock: try unlock.source())
    }
}

/// `--unlock`: where the secret that opens an encrypted node's data key is.
struct UnlockOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Where the unlock secret is: file:PATH (a key file), credential:NAME (a systemd credential) or prompt (a passphrase).",
            discussion: "Default: SUIFANG_UNLOCK, else the place node.json records."))
    var unlock: String?

    func source() throws -> UnlockSource? {
        try unlock.map { try UnlockSource($0) }
    }
}

/// `suifang serve`: the daemon. Sync listener and outbound sync to configured peers;
/// stops cleanly on SIGINT/SIGTERM (an acknowledged change is already committed).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the node: sync listener and live sync with its peers.")

    @OptionGroup var node: NodeOptions
    @Option(help: "Override the listen address, HOST:PORT.")
    var listen: String?
    @Option(parsing: .upToNextOption, help: "Override the peers, HOST:PORT each.")
    var peer: [String] = []
    @Option(help: "Override the HTTP API address, HOST:PORT.")
    var http: String?
    @Option(help: "The hospital PKI's certificate chain (PEM) for HTTPS, instead of the one the hospital CA issued at enrolment.")
    var tlsCert: String?
    @Option(help: "The key of --tls-cert (PEM).")
    var tlsKey: String?
    @Flag(help: "Serve the web UI and API over plain HTTP (passwords and patient data in clear on the network).")
    var insecureHttp = false
    @Option(help: "Receive the HIS's HL7 v2 ADT messages over MLLP on HOST:PORT (overrides node.json's mllp).")
    var mllp: String?
    @Option(parsing: .upToNextOption, help: "Addresses allowed to send over MLLP (the HIS interface engine); required off loopback.")
    var mllpAllow: [String] = []
    @Option(help: "Renew the node's certificates this many days before they expire (default: when a third of their lifetime is left).")
    var renewBeforeDays: Double?
    @Option(help: "Take backups while running into this directory (overrides node.json's backup.directory).")
    var backupDir: String?
    @Option(help: "Hours between scheduled backups (default: node.json's, else 24).")
    var backupEveryHours: Double?
    @Option(help: "How many scheduled backups to keep (default: node.json's, else 14).")
    var backupKeep: Int?
    @Option(
        help: """
            Central: archive every merged row into the hospital group's PostgreSQL, \
            postgres://USER@HOST[:PORT]/DATABASE[?sslmode=require|verify-full&sslrootcert=FILE] \
            (password in the address or SUIFANG_ARCHIVE_PASSWORD; docs/SCALE.md).
            """)
    var archive: String?
    @Option(help: "This hospital's name in the group archive (with --archive): letters, digits, '-', '_', '.'.")
    var archiveHospital: String?
    @OptionGroup var output: OutputOptions
    @Option(help: "trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"
    @Option(help: .hidden) var trafficPerSecond: Double = 0
    @Option(help: .hidden) var trafficSeconds: Double = 0
    @Option(help: .hidden) var trafficLog: String?
    @Option(help: .hidden) var trafficTotal: Int?
    @Option(help: .hidden) var trafficTransfers: Double = 0
    @Option(help: .hidden) var clockSkewSeconds: Double = 0

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("give --tls-cert and --tls-key together") }
        if insecureHttp, tlsCert != nil { throw ValidationError("--insecure-http and --tls-cert contradict each other") }
        if let renewBeforeDays, !(renewBeforeDays > 0 && renewBeforeDays < 36_500) { throw ValidationError("--renew-before-days must be a positive number of days") }
        if backupDir == nil, backupEveryHours != nil || backupKeep != nil { throw ValidationError("--backup-every-hours and --backup-keep go with --backup-dir") }
        if (archive == nil) != (archiveHospital == nil) { throw ValidationError("give --archive and --archive-hospital together") }
        if let archiveHospital, !ArchiveWriter.validHospital(archiveHospital) {
            throw ValidationError("--archive-hospital must be 1–64 letters, digits, '-', '_' or '.'")
        }
    }

    /// The backup schedule: the flags over node.json's.
    func backupSchedule(_ configuration: NodeConfiguration) throws -> BackupSchedule? {
        guard var schedule = backupDir.map({ BackupSchedule(directory: $0) }) ?? configuration.backup else { return nil }
        if let configured = configuration.backup, backupDir != nil {
            schedule.everyHours = configured.everyHours
            schedule.keep = configured.keep
        }
        if let backupEveryHours { schedule.everyHours = backupEveryHours }
        if let backupKeep { schedule.keep = backupKeep }
        try schedule.validate()
        return schedule
    }

    /// HTTPS with the hospital PKI's certificate or the node's own; plain HTTP on loopback when the
    /// node has none, or anywhere with `--insecure-http`.
    func httpTransport(_ directory: NodeDirectory, endpoint: Endpoint, logger: Logger) throws -> HTTPTransport {
        if let tlsCert, let tlsKey {
            guard let chain = FileManager.default.contents(atPath: tlsCert), let key = FileManager.default.contents(atPath: tlsKey) else {
                throw NodeSetupError("cannot read \(tlsCert) or \(tlsKey)")
            }
            return .tls(HTTPCertificate(chainPEM: String(decoding: chain, as: UTF8.self), keyPEM: String(decoding: key, as: UTF8.self)))
        }
        if insecureHttp {
            logger.warning("the web UI and API are served over plain HTTP (--insecure-http): passwords and patient data cross the network in clear")
            return .plain
        }
        if let certificate = try directory.httpCertificate() { return .tls(certificate) }
        guard endpoint.isLoopback else {
            throw NodeSetupError(
                "\(endpoint) is not loopback and the node has no HTTPS certificate: give --tls-cert/--tls-key, or --insecure-http to serve in clear")
        }
        logger.warning("the node has no HTTPS certificate: serving plain HTTP on loopback only")
        return .plain
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "suifang.node")
        if let notice = try node.directory().wipeNotice {
            throw NodeSetupError("this node's replica and keys were deleted (\(notice)); enrol it again in a new directory")
        }
        // One process runs a node: the lock keeps a second serve and a rekey out.
        let lock = try NodeLock(try node.directory(), purpose: "serving it")
        defer { withExtendedLifetime(lock) {} }
        try node.directory().settleInterruptedRekey()
        let (directory, configuration, runtime) = try NodeRuntime.open(
            directory: try node.directory(), policies: node.policies, logger: logger, clockSkewMilliseconds: Int64(clockSkewSeconds * 1000))
        // `/metrics` exports what this process counts through swift-metrics.
        runtime.metrics.bootstrap()
        if directory.isEncrypted {
            let source = try directory.unlockSource()
            logger.info("replica and keys encrypted at rest", metadata: ["unlock": "\(source)"])
        } else {
            logger.warning("the replica and keys are NOT encrypted at rest (initialised with --no-encryption)")
        }
        let listenEndpoint = try Endpoint(listen ?? configuration.listen)
        let peers = try (peer.isEmpty ? configuration.peers : peer).map(Endpoint.init)
        let json = output.json
        var services: [any Service] = [
            SyncListener(
                runtime: runtime, endpoint: listenEndpoint,
                onListening: { address in
                    let line =
                        json
                        ? "{\"event\":\"listening\",\"name\":\"\(configuration.name)\",\"role\":\"\(configuration.role)\",\"sync\":\"\(address)\"}\n"
                        : "suifang \(configuration.role) '\(configuration.name)' listening for sync on \(address)\n"
                    FileHandle.standardOutput.write(Data(line.utf8))
                })
        ]
        if let address = http ?? configuration.http {
            let endpoint = try Endpoint(address)
            let transport = try httpTransport(directory, endpoint: endpoint, logger: logger)
            services.append(try buildHTTPApplication(runtime: runtime, configuration: configuration, endpoint: endpoint, transport: transport, logger: logger))
        }
        if let address = mllp ?? configuration.mllp {
            let allowed = mllpAllow.isEmpty ? configuration.mllpAllow : mllpAllow
            services.append(
                try MLLPListener(
                    runtime: runtime, endpoint: try Endpoint(address), policy: MLLPPolicy(allowedHosts: allowed.map(Set.init)),
                    onListening: { address in
                        let line = json ? "{\"event\":\"listening\",\"mllp\":\"\(address)\"}\n" : "suifang listening for HL7 (MLLP) on \(address)\n"
                        FileHandle.standardOutput.write(Data(line.utf8))
                    }))
        }
        // The certificate's role decides, not node.json's: only central sends the hospital's SMS.
        var httpClient: HTTPClient?
        if runtime.replica.role == .central {
            if let kannel = configuration.kannel {
                let client = HTTPClient(eventLoopGroupProvider: .shared(runtime.group))
                httpClient = client
                services.append(SMSDispatchService(crm: runtime.crm, gateway: try KannelSMSGateway(configuration: kannel, client: client), logger: logger))
                logger.info("SMS go to Kannel", metadata: ["sms.kannel": "\(URL(string: kannel.sendsmsURL)?.host ?? "?")"])
            } else {
                let outbox = directory.file("sms-outbox.jsonl").path
                services.append(SMSDispatchService(crm: runtime.crm, gateway: FileSMSGateway(path: outbox), logger: logger))
                logger.warning("no SMS centre configured (node.json kannel): SMS are written to sms-outbox.jsonl, for the demo only")
            }
        }
        let wipe: @Sendable (SyncError) async -> Void = { order in
            // Revoked: central's signed order. Delete everything, say so, stop.
            do {
                let deleted = try directory.wipe(reason: "revoked; central ordered the wipe")
                logger.critical("central revoked this node and ordered it wiped: replica and keys deleted, stopping", metadata: ["wipe.files": "\(deleted.joined(separator: ","))"])
            } catch {
                logger.critical("central ordered this node wiped, and the wipe failed: \(error)")
            }
            Foundation.exit(0)
        }
        services += peers.map { PeerConnector(runtime: runtime, endpoint: $0, onWipeOrder: wipe) as any Service }
        // Central, as enrolment wrote it: the first configured peer renews the node's certificates.
        if runtime.replica.role != .central, let central = try configuration.peers.first.map(Endpoint.init) {
            let schedule = RenewalSchedule(before: renewBeforeDays.map { UInt64($0 * 86_400_000) })
            services.append(CertificateRenewer(runtime: runtime, directory: directory, central: central, schedule: schedule))
        }
        services.append(ReplicaChore.otherProcessWatch(runtime.replica, logger: logger))
        services.append(ReplicaChore.commitPacking(runtime.replica, logger: logger))
        if runtime.replica.ownScope != nil { services.append(ReplicaChore.scopePurge(runtime.replica, logger: logger)) }
        if let schedule = try backupSchedule(configuration) {
            services.append(ReplicaChore.scheduledBackup(directory, schedule, logger: logger))
            logger.info("scheduled backups", metadata: ["backup.everyHours": "\(schedule.everyHours)", "backup.keep": "\(schedule.keep)"])
        }
        if let archive, let archiveHospital {
            guard runtime.replica.role == .central else { throw NodeSetupError("only central archives (--archive): it holds every ward's rows") }
            let clusterKey = runtime.identity.clusterKey.map { String(format: "%02x", $0) }.joined()
            services.append(
                try ArchiveWriter(
                    replica: runtime.replica, target: try ArchiveTarget(url: archive), hospital: archiveHospital, clusterKey: clusterKey, logger: logger))
        }
        if trafficPerSecond > 0, let trafficLog {
            services.append(
                TrafficService(
                    crm: runtime.crm, nodeName: configuration.name, perSecond: trafficPerSecond,
                    seconds: trafficSeconds, total: trafficTotal, logPath: trafficLog))
        }
        if trafficTransfers > 0 {
            services.append(PatientMovementService(crm: runtime.crm, perSecond: trafficTransfers, seconds: trafficSeconds))
        }
        // Traffic ends by itself; the daemon goes on.
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0, successTerminationBehavior: .ignore) },
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            try? await httpClient?.shutdown()
            throw error
        }
        try? await httpClient?.shutdown()
        print("suifang '\(configuration.name)' stopped")
    }
}

/// `suifang sync --peer HOST:PORT`: one sync now, both ways, then exit.
struct SyncNow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sync", abstract: "Sync once with a peer, both ways, and exit.")

    @OptionGroup var node: NodeOptions
    @Option(help: "The peer, HOST:PORT.")
    var peer: String
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let (directory, _, runtime) = try node.open(logger: quietLogger)
        let endpoint = try Endpoint(peer)
        let progress = ProgressDisplay(enabled: !output.json)
        let start = ContinuousClock.now
        let report: SyncReport
        do {
            let connection = try await runtime.connect(to: endpoint)
            report = try await runtime.run(
                connection, as: .client, address: endpoint.description,
                options: SyncOptions(mode: .oneShot), progress: { progress.show($0) })
        } catch let error as SyncError where error.code == .wipeOrdered {
            // Revoked: central's signed order, obeyed as `serve` obeys it.
            progress.finish()
            let deleted = try directory.wipe(reason: "revoked; central ordered the wipe")
            throw NodeSetupError("central revoked this node and ordered it wiped: its replica and keys were deleted (\(deleted.joined(separator: ", ")))")
        } catch let error as SyncError {
            progress.finish()
            throw CommandFailure("sync with \(endpoint) failed: \(error)")
        }
        progress.finish()
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        if output.json {
            printJSON([
                "peer": report.peer, "rowsSent": report.rowsSent, "rowsReceived": report.rowsReceived,
                "bytesSent": report.bytesSent, "bytesReceived": report.bytesReceived, "seconds": seconds,
            ])
        } else {
            print(
                "synced with '\(report.peer)': sent \(report.rowsSent) rows (\(report.bytesSent) bytes), received \(report.rowsReceived) rows (\(report.bytesReceived) bytes) in \(String(format: "%.2f", seconds)) s"
            )
        }
    }
}

/// A progress bar on a terminal, plain lines otherwise.
final class ProgressDisplay: Sendable {
    let enabled: Bool
    let terminal = isatty(STDERR_FILENO) == 1

    init(enabled: Bool) {
        self.enabled = enabled
    }

    func show(_ report: SyncReport) {
        guard enabled else { return }
        let line = "sync \(report.peer): ↑ \(report.rowsSent) rows  ↓ \(report.rowsReceived) rows  (\(report.batchesSent + report.batchesReceived) batches)"
        if terminal {
            FileHandle.standardError.write(Data("\r\u{1B}[2K\(line)".utf8))
        } else if (report.batchesSent + report.batchesReceived) % 10 == 1 {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    func finish() {
        if enabled, terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
