import Foundation

/// Runs this same `suifang` binary as a child process (testnets and benchmarks start real nodes).
package struct NodeTool {
    package let binary = Bundle.main.executablePath ?? CommandLine.arguments[0]

    package init() {}

    /// Runs a command to completion; throws with its stderr when it fails.
    package func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw NodeSetupError("suifang \(arguments.first ?? "") failed: \(text)")
        }
    }

    /// Starts a long-running command with its output appended to `logPath`.
    package func start(_ arguments: [String], logPath: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        if !FileManager.default.fileExists(atPath: logPath) { FileManager.default.createFile(atPath: logPath, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// Creates a central node and enrolled nodes in `directory`, each listening on its given port,
    /// each encrypted at rest under its own key file in `directory/keys/`.
    /// A ward node works for the wards `wards` names for it, or else for the ward named like the node;
    /// `validDays` shortens a node's certificate.
    package func makeCluster(
        in directory: URL, central: (name: String, port: Int), others: [(name: String, role: String, port: Int)],
        wards: [String: [String]] = [:], validDays: [String: Int] = [:], policies: String
    ) throws {
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("keys"), withIntermediateDirectories: true)
        try run(
            [
                "init", "--role", "central", "--name", central.name, "--dir", directory.appendingPathComponent(central.name).path,
                "--listen", "127.0.0.1:\(central.port)", "--policies", policies,
            ] + unlock(central.name))
        for node in others {
            let token = directory.appendingPathComponent("\(node.name).token").path
            let wardOptions = node.role == "ward" ? (wards[node.name] ?? [node.name]).flatMap { ["--ward", $0] } : []
            try run(
                ["enroll", "--dir", directory.appendingPathComponent(central.name).path, "--name", node.name, "--role", node.role, "--out", token]
                    + wardOptions + (validDays[node.name].map { ["--valid-days", "\($0)"] } ?? []))
            try run(
                [
                    "init", "--token", token, "--dir", directory.appendingPathComponent(node.name).path,
                    "--listen", "127.0.0.1:\(node.port)", "--policies", policies,
                ] + unlock(node.name))
        }

        /// Each node's key file beside the node directories, never inside one.
        func unlock(_ name: String) -> [String] {
            ["--unlock", "file:" + directory.appendingPathComponent("keys").appendingPathComponent("\(name).key").path]
        }
    }

    /// The resident set size of a running process now, in MiB (from /proc).
    package static func residentMegabytes(_ pid: Int32) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kib = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kib / 1024
    }
}
