import Foundation
import Replica

/// The systemd unit `suifang service install` writes for a node: who runs it, where its data is,
/// where its unlock secret comes from, how it restarts, and what it may not touch.
///
/// The unlock secret: a node whose node.json says `credential:NAME` gets
/// `LoadCredentialEncrypted=NAME:FILE` (a key file sealed to this machine's TPM and host key by
/// `systemd-creds encrypt`: the secret never lies in the clear on its disk); `file:PATH` is read
/// from where it is (a USB key, say); `prompt` cannot start unattended and is refused.
package struct ServiceUnit: Sendable {
    /// The node's directory (absolute).
    package var directory: String
    package var configuration: NodeConfiguration
    /// The installed binary (absolute).
    package var binary: String
    /// The account the node runs as (never root).
    package var user: String
    /// Where the sealed credential is, for `credential:NAME` nodes.
    package var credentialFile: String?
    /// A credential that holds the node's key file, sealed by `systemd-creds encrypt`: the unit
    /// unlocks with it (`--unlock credential:NAME`) whatever node.json's place says.
    package var credential: String?

    package init(directory: String, configuration: NodeConfiguration, binary: String, user: String, credentialFile: String? = nil) {
        self.directory = directory
        self.configuration = configuration
        self.binary = binary
        self.user = user
        self.credentialFile = credentialFile
    }

    /// `suifang-NAME.service`.
    package var fileName: String { "suifang-\(configuration.name).service" }

    /// The unit's text.
    ///
    /// Every value written into it comes from node.json or the command line, and a unit is read by
    /// systemd as root: a newline in a name would add a directive of its own (`ExecStartPre=+…`
    /// runs as root), `%` would be expanded as a specifier, a space would split a path list. So
    /// every name, role and path is checked before it is written, and refused rather than escaped.
    /// - Throws: ``NodeSetupError`` for root, relative paths, a passphrase node, or names systemd would misread.
    package func text() throws -> String {
        guard user != "root", Self.isPlainName(user, also: "-_") else {
            throw NodeSetupError("--user must name an unprivileged account (letters, digits, - and _), not root")
        }
        guard Self.isPlainName(configuration.name, also: "-_.") else {
            throw NodeSetupError("node.json's name must be letters, digits, -, _ and . for a service unit")
        }
        guard NodeRole.allCases.contains(where: { $0.description == configuration.role }) else {
            throw NodeSetupError("node.json's role is not a node role")
        }
        var checked = [("--dir", directory), ("--binary", binary)] + (credentialFile.map { [("--credential-file", $0)] } ?? [])
        if let backup = configuration.backup?.directory { checked.append(("node.json's backup directory", backup)) }
        if case .keyFile(let key)? = try configuration.unlock.map(UnlockSource.init) { checked.append(("node.json's key file", key)) }
        for (what, path) in checked where !Self.isPlainPath(path) {
            throw NodeSetupError("\(what) must be an absolute path without spaces, control characters, quotes, backslashes or %: \(path)")
        }
        if case .credential(let name)? = try configuration.unlock.map(UnlockSource.init), !Self.isPlainName(name, also: "-_.") {
            throw NodeSetupError("node.json's credential name must be letters, digits, -, _ and .")
        }
        var service: [String] = [
            "Type=simple", "User=\(user)", "Group=\(user)", "UMask=0077",
            "ExecStart=\(binary) serve --dir \(directory)",
            // A node revoked by central wipes itself and exits 0: it must stay down. Crashes restart.
            "Restart=on-failure", "RestartSec=5s",
            "KillSignal=SIGTERM", "TimeoutStopSec=30s",
            "LimitNOFILE=65536",
            // A core dump would hold the data key and decrypted pages.
            "LimitCORE=0",
        ]
        var writable = [directory]
        // "-": a backup directory not there yet (an unmounted share) fails the backups, which log why, not the node.
        if let backup = configuration.backup?.directory { writable.append("-" + backup) }
        if let credential {
            guard configuration.unlock != nil else { throw NodeSetupError("the node is not encrypted at rest: there is nothing for --credential to unlock") }
            guard Self.isPlainName(credential, also: "-_.") else {
                throw NodeSetupError("--credential must be a credential name (letters, digits, -, _ and .)")
            }
            service[service.firstIndex { $0.hasPrefix("ExecStart=") }!] += " --unlock credential:\(credential)"
        }
        switch try (credential.map { "credential:\($0)" } ?? configuration.unlock).map(UnlockSource.init) {
        case .credential(let name):
            let file = credentialFile ?? "/etc/credstore.encrypted/\(name)"
            service.append("LoadCredentialEncrypted=\(name):\(file)")
        case .keyFile(let path):
            service.append("ReadOnlyPaths=\(path)")
        case .passphrase:
            throw NodeSetupError(
                "the node is unlocked by a passphrase typed at start, which a service cannot do: move it to a credential (suifang rekey --new-unlock credential:NAME)"
            )
        case nil:
            break
        }
        service.append("ReadWritePaths=\(writable.joined(separator: " "))")
        // A node kept under /home or /tmp (a trial install) stays reachable; /var/lib/suifang is the place.
        let paths =
            writable.map { $0.hasPrefix("-") ? String($0.dropFirst()) : $0 }
            + service.filter { $0.hasPrefix("ReadOnlyPaths=") }.map { String($0.dropFirst("ReadOnlyPaths=".count)) }
        let underHome = paths.contains { path in ["/home/", "/root/", "/run/user/"].contains { path.hasPrefix($0) } }
        let underTmp = paths.contains { path in ["/tmp/", "/var/tmp/"].contains { path.hasPrefix($0) } }
        let ports = ([configuration.listen] + [configuration.http, configuration.mllp].compactMap { $0 }).compactMap { try? Endpoint($0).port }
        let privileged = ports.contains { $0 > 0 && $0 < 1024 }
        service += [
            // Hardening: the node reads its directory and the network, and nothing else.
            "NoNewPrivileges=yes", "ProtectSystem=strict", underHome ? "ProtectHome=read-only" : "ProtectHome=yes",
            underTmp ? "PrivateTmp=no" : "PrivateTmp=yes", "PrivateDevices=yes",
            "ProtectKernelTunables=yes", "ProtectKernelModules=yes", "ProtectKernelLogs=yes", "ProtectControlGroups=yes",
            "ProtectClock=yes", "ProtectHostname=yes", "ProtectProc=invisible",
            "RestrictNamespaces=yes", "RestrictRealtime=yes", "RestrictSUIDSGID=yes", "LockPersonality=yes",
            "MemoryDenyWriteExecute=yes", "RemoveIPC=yes",
            "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "SystemCallArchitectures=native",
            "SystemCallFilter=@system-service", "SystemCallErrorNumber=EPERM",
            privileged ? "CapabilityBoundingSet=CAP_NET_BIND_SERVICE" : "CapabilityBoundingSet=",
            privileged ? "AmbientCapabilities=CAP_NET_BIND_SERVICE" : "AmbientCapabilities=",
        ]
        let unit = [
            "# Written by `suifang service install` (\(NodeRelease.version)); see docs/OPERATIONS.md.",
            "[Unit]", "Description=Suifang \(configuration.role) node '\(configuration.name)'",
            "After=network-online.target", "Wants=network-online.target", "",
            "[Service]",
        ]
        return (unit + service + ["", "[Install]", "WantedBy=multi-user.target", ""]).joined(separator: "\n")
    }

    /// ASCII letters and digits and the few characters in `also`; not empty.
    private static func isPlainName(_ value: String, also: String) -> Bool {
        !value.isEmpty && value.count <= 200 && value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || also.contains($0)) }
    }

    /// An absolute path systemd reads as written: printable ASCII without spaces, quotes, `\\`, `%` or `;`.
    private static func isPlainPath(_ path: String) -> Bool {
        path.hasPrefix("/") && path.count <= 4096
            && path.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F && !"%\"'\\;".unicodeScalars.contains($0) }
    }
}
