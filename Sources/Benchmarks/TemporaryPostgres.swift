import Foundation
import NodeRuntime

/// A PostgreSQL server of the benchmark's own (Debian's `postgresql`): a new cluster in a
/// temporary directory on a free loopback port, trusting loopback only, stopped and deleted by
/// ``stop()``. Run as the `postgres` user when this process is root (PostgreSQL refuses root).
package struct TemporaryPostgres {
    package let port: Int
    package let database = "group_archive"
    private let bin: String
    private let directory: URL
    private let runAs: [String]

    package init(port: Int) throws {
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).compactMap(Int.init).sorted()
        guard let version = versions.last else { throw NodeSetupError("PostgreSQL is not installed (scripts/install-deps.sh test installs it)") }
        bin = "/usr/lib/postgresql/\(version)/bin"
        self.port = port
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("suifang-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        if getuid() == 0 {
            runAs = ["/usr/sbin/runuser", "-u", "postgres", "--"]
            try FileManager.default.setAttributes([.ownerAccountName: "postgres", .groupOwnerAccountName: "postgres"], ofItemAtPath: directory.path)
        } else {
            runAs = []
        }
        try run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
        try run("pg_ctl", "-D", data, "-o", "-p \(port) -k \(directory.path) -c listen_addresses=127.0.0.1", "-l", directory.appendingPathComponent("log").path, "-w", "start")
        try run("psql", "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", "postgres", "-c", "CREATE DATABASE \(database)")
    }

    private var data: String { directory.appendingPathComponent("data").path }

    /// The archive address of its database.
    package var url: String { "postgres://postgres@127.0.0.1:\(port)/\(database)" }

    package func stop() {
        try? run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs a PostgreSQL tool to its end (posix_spawn and waitpid: `pg_ctl start` leaves a
    /// server behind that Foundation's `Process` would wait on).
    private func run(_ tool: String, _ arguments: String...) throws {
        let command = runAs + ["\(bin)/\(tool)"] + arguments
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY, 0) }
        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, command[0], &actions, nil, &argv, environ) == 0 else { throw NodeSetupError("cannot start \(tool)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1, errno == EINTR {}
        guard status == 0 else { throw NodeSetupError("\(tool) failed (status \(status))") }
    }
}
