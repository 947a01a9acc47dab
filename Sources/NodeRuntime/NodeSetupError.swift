/// A node directory, its configuration or a tool it runs is unusable: the message says which
/// file or command and what to do (printed by the CLI as it is).
package struct NodeSetupError: Error, CustomStringConvertible, Equatable {
    /// What is wrong, for the person running the node.
    package var message: String

    package init(_ message: String) {
        self.message = message
    }

    package var description: String { message }
}
