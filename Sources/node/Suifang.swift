import ArgumentParser
import Benchmarks
import CMalloc
import Foundation
import NodeHTTP
import NodeRuntime
import Replica
import SyncProtocol
import Testnets

/// The one node binary: every ward gateway, call-center node and the central server run it.
@main
struct Suifang: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suifang",
        abstract: "Suifang (随访): offline-first patient follow-up node.",
        subcommands: [
            Init.self, Enroll.self, Serve.self, User.self, Token.self, Status.self, SyncNow.self, Revoke.self, Rekey.self, Testnet.self,
            Demo.self, Bench.self, Policies.self, Debug.self, Backup.self, Restore.self, ServiceCommand.self, ArchiveCommand.self,
        ]
    )

    /// Every file the node creates (keys, tokens, the replica, its WAL and journal, temporary
    /// files) is created readable by its owner only, and every directory 0700: the mode is set
    /// before anything exists, so no key or patient row is ever world-readable, even for a moment.
    ///
    /// Exit codes: 0 done; 1 the command could not do its work (the message alone, on standard
    /// error); 64 a usage error (with the usage); a command's own code otherwise (`testnet`: 1 when
    /// a run did not converge).
    static func main() async {
        umask(0o077)
        mapLargeAllocations()
        if CommandLine.arguments.dropFirst().first == "--version" {
            print(versionReport())
            return
        }
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let error as NodeSetupError {
            runtimeFailure(error.description)
        } catch let error as CommandFailure {
            runtimeFailure(error.description)
        } catch {
            // Usage errors (64, with the usage), --help, and commands' own exit codes.
            exit(withError: error)
        }
    }

    /// Large allocations (1 MiB and up: frames, decoded batches, pages of rows) are mapped on their
    /// own and go back to the system when freed, unless `MALLOC_MMAP_THRESHOLD_` or `GLIBC_TUNABLES`
    /// says otherwise. glibc's default raises that threshold up to 32 MiB as large blocks are freed,
    /// after which such blocks stay in the arena of the thread that made them, one arena per thread:
    /// a 1,000,000-change initial sync then peaked 5–12 MiB higher (BENCHMARKS, twenty-second session).
    /// Set before the first large allocation.
    static func mapLargeAllocations() {
        let environment = ProcessInfo.processInfo.environment
        if environment["MALLOC_MMAP_THRESHOLD_"] == nil, environment["GLIBC_TUNABLES"]?.contains("mmap_threshold") != true {
            _ = suifang_set_malloc_mmap_threshold(1 << 20)
        }
    }

    /// A runtime error: the message alone on standard error, exit 1 (no usage text).
    static func runtimeFailure(_ message: String) -> Never {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        Foundation.exit(1)
    }

    /// The release, the sync protocol versions it speaks and the hash of the policy set it would
    /// load (`--policies`' default: `$SUIFANG_POLICIES` or ./conflict-policies).
    static func versionReport() -> String {
        // No arguments: the default directory (`$SUIFANG_POLICIES` or ./conflict-policies).
        guard let policies = try? PolicyOptions.parse([]) else { return "suifang \(NodeRelease.version)" }
        let policySet: String
        do {
            policySet = "\(try policies.load().contentHash) (\(policies.usesShippedSet ? "shipped in the binary" : policies.resolvedPath))"
        } catch {
            policySet = "none loaded from \(policies.resolvedPath): \(error)"
        }
        let versions = Handshake.supportedVersions
        let spoken = versions.lowerBound == versions.upperBound ? "\(versions.lowerBound)" : "\(versions.lowerBound)–\(versions.upperBound)"
        return ["suifang \(NodeRelease.version)", "sync protocol: \(spoken)", "policy set: \(policySet)"].joined(separator: "\n")
    }
}
