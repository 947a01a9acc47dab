/// A policy file that cannot be loaded: names the file, the line and the problem.
public struct PolicyFileError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file's path (or a name given by the caller).
    public var file: String
    /// The 1-based line number, or 0 when the problem concerns the whole file.
    public var line: Int
    /// What is wrong, in words.
    public var problem: String

    /// Creates an error.
    public init(file: String, line: Int, problem: String) {
        self.file = file
        self.line = line
        self.problem = problem
    }

    public var description: String {
        line > 0 ? "\(file):\(line): \(problem)" : "\(file): \(problem)"
    }
}
