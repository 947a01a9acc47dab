import Foundation

/// The `suifang` binary this package built (debug): tests that drive the command line run it as a
/// user would, in its own process.
public enum SuifangBinary {
    public static let url = RepositoryFiles.root.appendingPathComponent(".build/debug/suifang")

    /// Runs `suifang ARGUMENTS` to completion with `input` on its standard input.
    /// - Returns: its exit status and what it printed (standard output and error together).
    public static func run(_ arguments: [String], input: String = "") throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        let output = Pipe(), stdin = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = stdin
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Starts `suifang ARGUMENTS` in the background with its output in the file `log` (a node's
    /// `serve`, as an operator would start it).
    public static func start(_ arguments: [String], log: String) throws -> Process {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }
}
