import ArgumentParser
import Foundation
import NodeRuntime

/// `suifang service install`: the systemd unit that runs a node as a service.
struct ServiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service", abstract: "Run a node as a systemd service.", subcommands: [Install.self])

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the systemd unit for a node (suifang-NAME.service).",
            discussion: """
                The unit runs `suifang serve` as --user (never root) with the node's directory the only place it
                may write, restarts it after a crash (not after central's wipe order), and confines it
                (ProtectSystem=strict, no new privileges, system-call filter). A node unlocked by
                credential:NAME gets LoadCredentialEncrypted=NAME:FILE: seal its key file to this machine first
                with `systemd-creds encrypt --name=NAME KEYFILE FILE`. See docs/OPERATIONS.md.
                """)

        @Option(help: "The node's data directory.")
        var dir: String
        @Option(help: "The account the node runs as (it must own --dir).")
        var user: String = "suifang"
        @Option(help: "The installed suifang binary (default: this one).")
        var binary: String?
        @Option(help: "Unlock with this systemd credential (the node's key file sealed by systemd-creds encrypt) instead of node.json's place.")
        var credential: String?
        @Option(help: "The sealed credential file (default /etc/credstore.encrypted/NAME).")
        var credentialFile: String?
        @Option(help: "Where to write the unit (default /etc/systemd/system/suifang-NAME.service; - prints it).")
        var out: String?

        func run() throws {
            let directory = NodeDirectory(URL(fileURLWithPath: dir).standardizedFileURL.path)
            guard directory.exists else { throw NodeSetupError("\(directory.url.path) holds no node (no node.json): give the node's --dir") }
            let executable = binary ?? URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0]).standardizedFileURL.path
            var unit = ServiceUnit(
                directory: directory.url.path, configuration: try directory.configuration(), binary: executable, user: user, credentialFile: credentialFile)
            unit.credential = credential
            let text = try unit.text()
            if out == "-" {
                print(text, terminator: "")
                return
            }
            let path = out ?? "/etc/systemd/system/\(unit.fileName)"
            guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o644]) else {
                throw NodeSetupError("cannot write \(path) (run as root to install into /etc/systemd/system, or give --out)")
            }
            print("wrote \(path)")
            if let unlock = try credential.map({ "credential:\($0)" }) ?? directory.configuration().unlock, case .credential(let name) = try UnlockSource(unlock) {
                print("seal the unlock key to this machine: systemd-creds encrypt --name=\(name) KEYFILE \(credentialFile ?? "/etc/credstore.encrypted/\(name)")")
            }
            print("then: chown -R \(user): \(directory.url.path) && systemctl daemon-reload && systemctl enable --now \(unit.fileName)")
        }
    }
}
