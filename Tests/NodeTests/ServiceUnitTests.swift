import Foundation
import TestSupport
import Testing

@testable import NodeRuntime

/// `suifang service install`: the unit a hospital's IT staff install, confined and unattended.
@Suite("systemd unit")
struct ServiceUnitTests {
    func configuration(unlock: String?, http: String? = "0.0.0.0:8443") -> NodeConfiguration {
        var configuration = NodeConfiguration(name: "ward-3", role: "ward", nodeID: "0123456789abcdef", listen: "0.0.0.0:7400", peers: ["central:7400"], http: http, unlock: unlock)
        configuration.backup = BackupSchedule(directory: "/srv/backups/suifang")
        return configuration
    }

    func lines(_ unit: ServiceUnit) throws -> Set<String> { Set(try unit.text().split(separator: "\n").map(String.init)) }

    @Test func aCredentialNodeGetsItsSealedCredentialAndAConfinedService() throws {
        let unit = ServiceUnit(
            directory: "/var/lib/suifang/ward-3", configuration: configuration(unlock: "credential:ward-3-unlock"), binary: "/usr/local/bin/suifang", user: "suifang")
        let text = try lines(unit)
        #expect(unit.fileName == "suifang-ward-3.service")
        for line in [
            "User=suifang", "ExecStart=/usr/local/bin/suifang serve --dir /var/lib/suifang/ward-3",
            "LoadCredentialEncrypted=ward-3-unlock:/etc/credstore.encrypted/ward-3-unlock",
            "ReadWritePaths=/var/lib/suifang/ward-3 -/srv/backups/suifang", "Restart=on-failure", "ProtectSystem=strict", "ProtectHome=yes",
            "PrivateTmp=yes", "NoNewPrivileges=yes", "CapabilityBoundingSet=", "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes",
            "LimitCORE=0", "SystemCallErrorNumber=EPERM",
        ] {
            #expect(text.contains(line), "missing \(line)")
        }
        // A port below 1024 is the one capability it gets.
        var low = configuration(unlock: "credential:ward-3-unlock", http: "0.0.0.0:443")
        low.backup = nil
        let privileged = try lines(ServiceUnit(directory: "/var/lib/suifang/ward-3", configuration: low, binary: "/usr/local/bin/suifang", user: "suifang"))
        #expect(privileged.contains("AmbientCapabilities=CAP_NET_BIND_SERVICE") && privileged.contains("ReadWritePaths=/var/lib/suifang/ward-3"))
    }

    @Test func whatCannotRunUnattendedOrAsRootIsRefused() throws {
        let base = ServiceUnit(directory: "/var/lib/suifang/ward-3", configuration: configuration(unlock: "prompt"), binary: "/usr/local/bin/suifang", user: "suifang")
        #expect(throws: NodeSetupError.self) { try base.text() }
        var root = base
        root.configuration = configuration(unlock: nil)
        root.user = "root"
        #expect(throws: NodeSetupError.self) { try root.text() }
        var spaced = base
        spaced.configuration = configuration(unlock: nil)
        spaced.directory = "/var/lib/my node"
        #expect(throws: NodeSetupError.self) { try spaced.text() }
        var sealed = base
        sealed.configuration = configuration(unlock: "file:/media/key/ward-3.key")
        sealed.credential = "suifang-unlock"
        let sealedLines = try lines(sealed)
        #expect(sealedLines.contains("ExecStart=/usr/local/bin/suifang serve --dir /var/lib/suifang/ward-3 --unlock credential:suifang-unlock"))
        #expect(sealedLines.contains("LoadCredentialEncrypted=suifang-unlock:/etc/credstore.encrypted/suifang-unlock"))
        #expect(!sealedLines.contains { $0.hasPrefix("ReadOnlyPaths=") }, "the key file on removable media is not needed")
        sealed.credential = "../x"
        #expect(throws: NodeSetupError.self) { try sealed.text() }
        var keyFile = base
        keyFile.configuration = configuration(unlock: "file:/media/key/ward-3.key")
        #expect(try lines(keyFile).contains("ReadOnlyPaths=/media/key/ward-3.key"))
    }

    @Test func node_jsonValuesCannotAddDirectivesToTheUnit() throws {
        // The attack: whoever can edit node.json (or tricks an operator into installing a copied
        // directory) smuggles a directive that systemd runs as root into the unit.
        let injected = "\nExecStartPre=+/bin/sh -c id"
        let base = ServiceUnit(directory: "/var/lib/suifang/ward-3", configuration: configuration(unlock: nil), binary: "/usr/local/bin/suifang", user: "suifang")
        var cases: [(String, ServiceUnit)] = []
        var name = base
        name.configuration.name = "ward-3" + injected
        cases.append(("name", name))
        var role = base
        role.configuration.role = "ward" + injected
        cases.append(("role", role))
        var backup = base
        backup.configuration.backup = BackupSchedule(directory: "/srv/backups" + injected)
        cases.append(("backup directory", backup))
        var keyFile = base
        keyFile.configuration.unlock = "file:/media/key" + injected
        cases.append(("key file", keyFile))
        var credential = base
        credential.configuration.unlock = "credential:x" + injected
        cases.append(("credential", credential))
        var specifier = base
        specifier.configuration.backup = BackupSchedule(directory: "/srv/%h")
        cases.append(("specifier", specifier))
        var tab = base
        tab.directory = "/var/lib/suifang/a\tb"
        cases.append(("control character", tab))
        for (what, unit) in cases {
            #expect(throws: NodeSetupError.self, "\(what)") { try unit.text() }
        }
    }

    @Test func theInstalledUnitPassesSystemdsOwnCheck() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("unit-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let node = root.appendingPathComponent("central").path
        let made = try SuifangBinary.run([
            "init", "--role", "central", "--name", "central", "--dir", node, "--listen", "127.0.0.1:0", "--policies", RepositoryFiles.policiesDirectory.path,
            "--unlock", "file:" + root.appendingPathComponent("central.key").path,
        ])
        #expect(made.status == 0, "\(made.output)")
        let unit = root.appendingPathComponent("suifang-central.service").path
        let installed = try SuifangBinary.run(["service", "install", "--dir", node, "--out", unit, "--binary", "/bin/true"])
        #expect(installed.status == 0, "\(installed.output)")
        let text = try String(contentsOfFile: unit, encoding: .utf8)
        #expect(text.contains("ExecStart=/bin/true serve --dir \(node)") && text.contains("PrivateTmp=no"), "a node under /tmp stays reachable: \(text)")
        // systemd's own reading of the unit (the machines this runs on have systemd).
        let verify = Process()
        verify.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
        verify.arguments = ["verify", unit]
        let output = Pipe()
        verify.standardOutput = output
        verify.standardError = output
        try verify.run()
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        verify.waitUntilExit()
        #expect(verify.terminationStatus == 0, "\(said)")
        let refused = try SuifangBinary.run(["service", "install", "--dir", node, "--out", unit, "--user", "root"])
        #expect(refused.status == 1 && refused.output.contains("not root"), "\(refused.output)")
    }
}
