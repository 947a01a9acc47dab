import CRMDomain
import Foundation
import HL7
import NIOCore
import Replica
import Sodium
import SyncProtocol
import Synchronization

/// Coverage-guided fuzz targets for everything a node reads from a peer before trusting it.
///
/// Built with libFuzzer (`scripts/fuzz.sh`, which passes `-sanitize=fuzzer,address -DFUZZING`),
/// the binary is a fuzzer; built plainly it replays the inputs it is given (a corpus or the crash
/// files a fuzzer left). `SUIFANG_FUZZ_TARGET` picks the target:
/// - `frames`: the byte stream a listener reads: the frame decoder (with its handshake limit),
///   every frame parsed as a hello (which parses the certificate inside), a certificate and a
///   session message; a batch message's payload is inflated (bounded) and decoded as a change batch.
/// - `batch`: a change batch as it arrives decompressed: decoded, then merged into a replica
///   holding the repository's conflict policies.
/// - `commit`: a commit body from an enrolled ward (a stolen gateway signs what it likes), decoded
///   and judged against the declared rules (`CommitRules`): the part of receiving that reads it.
/// - `merge`: the same, signed and merged into the replica (slower: a transaction per input).
///   Quarantines are lifted after each input so every input is judged afresh.
/// - `hl7`: the byte stream an MLLP listener reads from the HIS: deframed (with a small frame
///   limit), each frame's character set decoded, parsed, read as an ADT message, acknowledged.
/// - `csv`: a CSV file an admin uploads: decoded (UTF-8 or GB18030), parsed, and imported as
///   patients or encounters (by its first byte) into an in-memory replica with the real policies.
enum FuzzTarget: String {
    case frames, batch, commit, merge, hl7, csv

    static let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["SUIFANG_FUZZ_TARGET"] ?? "frames"
        guard let target = FuzzTarget(rawValue: name) else {
            fatalError("SUIFANG_FUZZ_TARGET must be frames, batch, commit, merge, hl7 or csv")
        }
        return target
    }()

    /// `SUIFANG_FUZZ_VERBOSE=1`: say what became of each input (to check that seeds reach the merge).
    static let verbose = ProcessInfo.processInfo.environment["SUIFANG_FUZZ_VERBOSE"] == "1"

    func run(_ bytes: [UInt8]) {
        switch self {
        case .frames: FrameTarget.run(bytes)
        case .batch: BatchTarget.shared.runBatch(bytes)
        case .commit: BatchTarget.shared.judgeCommit(bytes)
        case .merge: BatchTarget.shared.mergeCommit(bytes)
        case .hl7: HL7Target.run(bytes)
        case .csv: CSVTarget.shared.run(bytes)
        }
    }
}

/// The listener's side of the wire, before and after the handshake.
enum FrameTarget {
    static func run(_ bytes: [UInt8]) {
        var decoder = FrameDecoder()
        var buffer = ByteBuffer(bytes: bytes)
        // An oversized frame is refused (thrown), which is the point.
        while let frame = try? decoder.nextFrame(&buffer) {
            let payload = Array(frame.readableBytesView)
            _ = try? Hello(decoding: payload)
            _ = try? NodeCertificate(decoding: payload)
            if case .batch(_, let compressed)? = try? SyncMessage(decoding: payload),
                let inflated = try? BatchCompression.decompress(compressed)
            {
                _ = try? ChangeBatch(decoding: inflated)
            }
        }
    }
}

/// A replica with the repository's policies, fed batches and signed commits.
/// The HIS's side of the MLLP listener, up to the point where a message would be applied.
enum HL7Target {
    static func run(_ bytes: [UInt8]) {
        var deframer = MLLPDeframer(maximumFrameBytes: 16_384)
        deframer.append(bytes)
        var frames: [[UInt8]] = []
        while true {
            do {
                guard let frame = try deframer.next() else { break }
                frames.append(frame)
            } catch MLLPDeframer.Failure.frameTooLarge(let head) {
                frames.append(head)
            } catch {
                break
            }
        }
        // Unframed input is a message too: most of the corpus is plain messages.
        if frames.isEmpty { frames = [bytes] }
        for frame in frames {
            let header = HL7RawHeader(frame)
            var acknowledgement = HL7Acknowledgement(.accept)
            do {
                let decoded = try HL7Charset.decode(frame)
                let message = try HL7Parser.parse(decoded.utf8)
                let adt = try ADTMessage(message, localOffsetSeconds: 28_800)
                if FuzzTarget.verbose { print("hl7: ADT^\(adt.trigger.rawValue) for a visit \(adt.visit.visitNumber == nil ? "absent" : "given")") }
            } catch {
                acknowledgement = HL7Acknowledgement(.reject, error: error)
                if FuzzTarget.verbose { print("hl7: \(error)") }
            }
            _ = acknowledgement.message(for: header, controlID: "SF1", timestamp: "20261201000000+0800")
        }
    }
}

/// The CSV importer on an in-memory replica, renewed now and then so accepted rows do not pile up.
final class CSVTarget: Sendable {
    static let shared = CSVTarget()
    private let crm = Mutex<(CRM, Int)?>(nil)

    private func current() -> CRM {
        crm.withLock { state in
            if let (crm, runs) = state, runs < 5_000 {
                state = (crm, runs + 1)
                return crm
            }
            let directory = ProcessInfo.processInfo.environment["SUIFANG_POLICIES"] ?? "conflict-policies"
            do {
                let policies = try PolicySet.load(directory: URL(fileURLWithPath: directory))
                let replica = try Replica.inMemory(configuration: ReplicaConfiguration(nodeID: NodeID(1), policies: policies))
                let fresh = try CRM(replica: replica, passwordStrength: .minimum)
                state = (fresh, 0)
                return fresh
            } catch {
                fatalError("the fuzz replica did not open (run from the repository root, or set SUIFANG_POLICIES): \(error)")
            }
        }
    }

    func run(_ bytes: [UInt8]) {
        guard let decoded = try? CSVText.decode(bytes) else { return }
        let dataset: CSVDataset = (bytes.first ?? 0) % 2 == 0 ? .patients : .encounters
        let crm = current()
        let done = DispatchSemaphore(value: 0)
        Task {
            let report = try? await crm.patients.importCSV(.system, dataset, text: decoded.text)
            if FuzzTarget.verbose { print("csv: \(report.map { "applied \($0.applied), \($0.imported) lines, \($0.rejected.count) rejected" } ?? "refused")") }
            done.signal()
        }
        done.wait()
    }
}

final class BatchTarget: Sendable {
    static let shared = BatchTarget()

    private let replica: Replica
    private let ward = NodeID(2)
    private let policies: PolicySet
    /// The ward's keys, derived once (not per input).
    private let wardTrust = SharedSecretTrust(nodeID: NodeID(2), roles: [NodeID(2): .ward], wards: [NodeID(2): ["W-CARD-1"]])

    private init() {
        let directory = ProcessInfo.processInfo.environment["SUIFANG_POLICIES"] ?? "conflict-policies"
        do {
            policies = try PolicySet.load(directory: URL(fileURLWithPath: directory))
            var configuration = ReplicaConfiguration(nodeID: NodeID(1), policies: policies)
            configuration.authority = SharedSecretTrust(nodeID: NodeID(1), roles: [ward: .ward], wards: [ward: ["W-CARD-1"]])
            configuration.revocationTable = "revokedNode"
            replica = try Replica.inMemory(configuration: configuration)
        } catch {
            fatalError("the fuzz replica did not open (run from the repository root, or set SUIFANG_POLICIES): \(error)")
        }
    }

    func runBatch(_ bytes: [UInt8]) {
        guard let batch = try? ChangeBatch(decoding: bytes) else { return }
        _ = try? replica.apply(batch)
    }

    func judgeCommit(_ bytes: [UInt8]) {
        let rule = replica.brokenRule(inCommit: bytes, by: wardIdentity)
        if FuzzTarget.verbose { print("commit: \(rule ?? "keeps every rule")") }
    }

    private var wardIdentity: OriginIdentity { wardTrust.identity }

    func mergeCommit(_ bytes: [UInt8]) {
        do {
            let seq = try replica.versionVector()[ward]
            var chain = ChainWriter(
                authority: wardTrust, policies: policies,
                after: seq, hash: try replica.chainHash(of: ward, seq: seq))
            chain.append(body: bytes)
            let report = try replica.apply(ChangeBatch(segments: [chain.segment()]))
            try replica.liftQuarantine(of: ward)
            if FuzzTarget.verbose {
                print("commit: applied \(report.commitsApplied), rows changed \(report.rowsChanged), quarantined: \(report.quarantined.map(\.rule))")
            }
        } catch {
            // Refusals are the expected outcome; only a trap is a finding.
            if FuzzTarget.verbose { print("commit: refused: \(error)") }
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTarget.selected.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

#if FUZZING
/// libFuzzer's driver, for an executable whose entry point SwiftPM names `SuifangFuzz_main`.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("SuifangFuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzzOneInput)
}
#else
/// Without libFuzzer: replays each file named on the command line (or every file of each directory).
@main
struct ReplayInputs {
    static func main() {
        var count = 0
        for argument in CommandLine.arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else { continue }
            let files =
                isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: argument)) ?? []).sorted().map { argument + "/" + $0 }
                : [argument]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                FuzzTarget.selected.run(Array(data))
                count += 1
            }
        }
        print("replayed \(count) inputs against \(FuzzTarget.selected.rawValue) without a crash")
    }
}
#endif
