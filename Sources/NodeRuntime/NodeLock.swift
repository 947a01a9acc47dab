import Foundation

/// `node.lock` in a node's directory, held (`flock`, exclusive) by the process that runs the node:
/// `serve` holds it for its life, `rekey` while it rewrites the files. The kernel drops it when the
/// process ends, however it ends.
package final class NodeLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock or throws at once (or, with `wait`, waits for it: for short critical sections
    /// such as `enrolment.lock`).
    /// - Throws: ``NodeSetupError`` when another process holds it.
    package init(_ directory: NodeDirectory, file: String = "node.lock", wait: Bool = false, purpose: String) throws {
        let path = directory.file(file).path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw NodeSetupError("cannot open \(path)") }
        guard flock(descriptor, wait ? LOCK_EX : LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw NodeSetupError("another process runs the node in \(directory.url.path) (it holds node.lock): stop it before \(purpose)")
        }
        self.descriptor = descriptor
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
