import ArgumentParser
import Benchmarks
import CRMDomain
import Foundation
import GRDB
import NodeHTTP
import NodeRuntime
import Replica
import Testnets

/// Hidden tools for tests: fault injection that needs a real process.
struct Debug: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fault-injection tools for tests.",
        shouldDisplay: false,
        subcommands: [ApplyAndCrash.self, Count.self, LoadDemo.self]
    )

    /// Applies a batch of generated rows to a replica file and kills itself with SIGKILL
    /// after `--crash-after` rows, in the middle of the transaction.
    struct ApplyAndCrash: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "apply-and-crash")

        @Option var database: String
        @Option var rows: Int
        @Option(help: "Kill the process after this many rows (omit to finish normally).")
        var crashAfter: Int?
        @Option var seed: UInt64 = 1
        @Option(help: "Encrypt the file under this data key (64 hexadecimal digits).")
        var dataKey: String?

        func run() throws {
            let replica = try Replica.open(at: database, configuration: try debugConfiguration(dataKey))
            let origin = NodeID(seed)
            var chain = ChainWriter(authority: SharedSecretTrust(nodeID: origin), policies: SurveyShape.policies)
            for index in 0..<rows {
                try chain.commit(
                    inserting: [SurveyShape.row(index: index, origin: origin, baseMilliseconds: 1_780_000_000_000)],
                    at: SurveyShape.hlc(index: index, baseMilliseconds: 1_780_000_000_000))
            }
            let batch = ChangeBatch(segments: [chain.segment()])
            try replica.apply(batch) { applied in
                if let crashAfter, applied == crashAfter {
                    kill(getpid(), SIGKILL)
                }
            }
            print("applied \(rows)")
        }
    }

    /// Loads the demo hospital (organisation, accounts, templates, patients with their encounters,
    /// tasks and responses) into a stopped node, for tests that need a node holding real-looking
    /// data (FHIR validation, API conformance).
    struct LoadDemo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "load-demo")

        @OptionGroup var node: NodeOptions
        @Option var patients = 200
        @Option var seed: UInt64 = 1
        @Option(help: "The demo accounts' password.")
        var password = "suifang-demo"

        func run() async throws {
            let lock = try NodeLock(try node.directory(), purpose: "loading demo data")
            defer { withExtendedLifetime(lock) {} }
            let (_, _, runtime) = try NodeRuntime.open(directory: try node.directory(), policies: node.policies, logger: quietLogger)
            let summary = try await HospitalGenerator(seed: seed, patients: patients, password: password).load(into: runtime.crm)
            print("loaded \(summary)")
        }
    }

    /// Prints the number of survey rows and the version vector total of a replica file.
    struct Count: ParsableCommand {
        @Option var database: String
        @Option(help: "The file's data key (64 hexadecimal digits), when it is encrypted.")
        var dataKey: String?

        func run() throws {
            let replica = try Replica.open(at: database, configuration: try debugConfiguration(dataKey))
            let rows = try replica.statistics().rows[SurveyShape.table] ?? 0
            let integrity = try replica.reader.read { db in try ReplicaIntegrity.check(db) }
            print("rows=\(rows) commits=\(try replica.versionVector().total) integrity=\(integrity)")
        }
    }
}

/// The survey-shaped replica the debug tools open, encrypted under `hexKey` when given.
private func debugConfiguration(_ hexKey: String?) throws -> ReplicaConfiguration {
    var configuration = ReplicaConfiguration(policies: SurveyShape.policies)
    if let hexKey {
        var key: [UInt8] = []
        var index = hexKey.startIndex
        while index < hexKey.endIndex, let next = hexKey.index(index, offsetBy: 2, limitedBy: hexKey.endIndex), let byte = UInt8(hexKey[index..<next], radix: 16) {
            key.append(byte)
            index = next
        }
        configuration.encryption = try ReplicaEncryption(dataKey: key)
    }
    return configuration
}
