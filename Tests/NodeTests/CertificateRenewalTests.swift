import Foundation
import Replica
import Sodium
import SyncProtocol
import TestSupport
import Testing

@testable import NodeRuntime
@testable import Testnets

/// Certificates renew themselves over central's sync port before they expire.
@Suite("Certificate renewal")
struct CertificateRenewalTests {
    @Test func renewalIsDueWhenAThirdOfTheLifetimeIsLeftOrAsConfigured() throws {
        let day: UInt64 = 86_400_000
        let certificate = try NodeCertificate.issue(
            nodeID: NodeID(2), role: .ward, name: "w", publicKey: SigningKey().publicKey, wards: ["W"], by: SigningKey(), issuedAt: 0, validFor: 300 * day)
        #expect(!RenewalSchedule().isDue(certificate, now: 199 * day))
        #expect(RenewalSchedule().isDue(certificate, now: 200 * day))
        #expect(RenewalSchedule().isDue(certificate, now: 400 * day))
        #expect(!RenewalSchedule(before: 30 * day).isDue(certificate, now: 269 * day))
        #expect(RenewalSchedule(before: 30 * day).isDue(certificate, now: 270 * day))
    }

    @Test func centralRenewsNothingForARevokedNode() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("renew-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        let central = NodeDirectory(root.appendingPathComponent("central").path), ward = NodeDirectory(root.appendingPathComponent("ward").path)
        let policies = PolicyDirectory(RepositoryFiles.policiesDirectory.path)
        try central.createCentral(name: "central", NodeSetup(listen: "127.0.0.1:1", policies: policies))
        let (token, _) = try central.enrol(name: "ward-5a", role: .ward, wards: ["W-CARD"], centralAddress: nil, validDays: 30)
        try ward.join(with: try token.grant, NodeSetup(listen: "127.0.0.1:0", policies: policies))
        let identity = try ward.identity(), now = SystemWallClock().now()
        let frame = RenewalRequest.make(identity: identity, now: now, httpCertificate: [], signingRequest: []).encoded
        #expect(central.renewCertificate(frame, now: now, isRevoked: { $0 == identity.nodeID }).outcome.failureCode == .revoked)
        let renewed = try central.renewCertificate(frame, now: now, isRevoked: { _ in false }).outcome.get()
        #expect(
            renewed.nodeID == identity.nodeID && renewed.wards == ["W-CARD"]
                && renewed.expiresAt - renewed.issuedAt == identity.certificate.expiresAt - identity.certificate.issuedAt + RenewalRequest.maximumSkew)
        #expect(renewed.expiresAt > identity.certificate.expiresAt)
    }

    /// Real processes: a ward enrolled for 30 days, told to renew 400 days ahead, renews at once,
    /// installs both certificates and keeps syncing under the new one.
    @Test func aRunningWardRenewsItsCertificatesAndKeepsSyncing() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("renewal-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let central = root.appendingPathComponent("central").path, ward = root.appendingPathComponent("ward").path
        let port = try await TestnetRunner.freePort()
        let policies = RepositoryFiles.policiesDirectory.path
        for arguments in [
            ["init", "--role", "central", "--name", "central", "--dir", central, "--listen", "127.0.0.1:\(port)", "--policies", policies, "--no-encryption"],
            ["enroll", "--dir", central, "--name", "ward-5a", "--role", "ward", "--ward", "W-CARD", "--valid-days", "30", "--out", root.appendingPathComponent("t").path],
            ["init", "--token", root.appendingPathComponent("t").path, "--dir", ward, "--listen", "127.0.0.1:0", "--policies", policies, "--no-encryption"],
        ] {
            let result = try SuifangBinary.run(arguments)
            #expect(result.status == 0, "\(arguments[0]): \(result.output)")
        }
        let before = try NodeDirectory(ward).identity().certificate
        let httpBefore = try NodeDirectory(ward).read("http.pem")
        let centralLog = root.appendingPathComponent("central.log").path, wardLog = root.appendingPathComponent("ward.log").path
        let centralProcess = try SuifangBinary.start(["serve", "--dir", central], log: centralLog)
        defer { centralProcess.terminate() }
        func logged(_ file: String, _ text: String) -> Bool { ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").contains(text) }
        // The ward retries a failed renewal only after minutes: central must listen before it starts.
        let listening = Date().addingTimeInterval(60)
        while !logged(centralLog, "listening for sync"), Date() < listening { try await Task.sleep(for: .milliseconds(100)) }
        let wardProcess = try SuifangBinary.start(["serve", "--dir", ward, "--renew-before-days", "400"], log: wardLog)
        defer { wardProcess.terminate() }
        var renewed = false
        let renewal = Date().addingTimeInterval(60)
        while !renewed, Date() < renewal {
            try await Task.sleep(for: .milliseconds(200))
            renewed = logged(wardLog, "certificates renewed")
        }
        #expect(renewed, "\((try? String(contentsOfFile: wardLog, encoding: .utf8)) ?? "")")
        let after = try NodeDirectory(ward).identity().certificate
        #expect(after.expiresAt > before.expiresAt && after.signature != before.signature)
        #expect(after.nodeID == before.nodeID && after.publicKey == before.publicKey && after.wards == before.wards)
        #expect(try NodeDirectory(ward).read("http.pem") != httpBefore, "the HTTPS certificate was renewed too")
        #expect(try NodeDirectory(ward).httpCertificate() != nil)
        // Restarted, the ward presents the renewed certificate from its directory, and central admits it.
        wardProcess.terminate()
        wardProcess.waitUntilExit()
        let again = try SuifangBinary.start(["serve", "--dir", ward], log: wardLog)
        defer { again.terminate() }
        var sessions = 0
        let admission = Date().addingTimeInterval(60)
        while sessions < 2, Date() < admission {
            try await Task.sleep(for: .milliseconds(200))
            sessions = ((try? String(contentsOfFile: centralLog, encoding: .utf8)) ?? "").components(separatedBy: "sync session started").count - 1
        }
        let log = try String(contentsOfFile: centralLog, encoding: .utf8)
        #expect(log.contains("renewed a node's certificate"), "\(log)")
        #expect(sessions >= 2, "\(log)")

        // Central's status shows the renewed expiry the ward presented; the ward's own status shows its own.
        // (Central logs the session before it records the peer's certificate: poll.)
        var status = try SuifangBinary.run(["status", "--dir", central, "--json"])
        func presentedExpiry() -> UInt64? {
            let report = try? JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any]
            let peer = (report?["peers"] as? [[String: Any]])?.first { $0["name"] as? String == "ward-5a" }
            return (peer?["certificateExpiresAt"] as? NSNumber)?.uint64Value
        }
        let recorded = Date().addingTimeInterval(30)
        while presentedExpiry() != after.expiresAt, Date() < recorded {
            try await Task.sleep(for: .milliseconds(200))
            status = try SuifangBinary.run(["status", "--dir", central, "--json"])
        }
        #expect(presentedExpiry() == after.expiresAt, "\(status.output)")
        let wardStatus = try SuifangBinary.run(["status", "--dir", ward])
        #expect(wardStatus.output.contains("certificate expires") && wardStatus.output.contains("HTTPS certificate expires"), "\(wardStatus.output)")
    }
}

/// A node offline past its certificate's expiry re-enrols with a new code and keeps its replica.
@Suite("Re-enrolment after expiry")
struct ReenrolmentTests {
    @Test func aWardWhoseCertificateExpiredReenrolsWithACodeAndLosesNothing() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("reenrol-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let central = root.appendingPathComponent("central").path, ward = root.appendingPathComponent("ward").path
        let port = try await TestnetRunner.freePort()
        let policies = RepositoryFiles.policiesDirectory.path
        for arguments in [
            ["init", "--role", "central", "--name", "central", "--dir", central, "--listen", "127.0.0.1:\(port)", "--policies", policies, "--no-encryption"],
            ["enroll", "--dir", central, "--name", "ward-5a", "--role", "ward", "--ward", "W-CARD", "--valid-seconds", "3", "--out", root.appendingPathComponent("t").path],
            [
                "init", "--token", root.appendingPathComponent("t").path, "--dir", ward, "--listen", "127.0.0.1:0", "--policies", policies,
                "--unlock", "file:" + root.appendingPathComponent("ward.key").path,
            ],
        ] {
            let result = try SuifangBinary.run(arguments)
            #expect(result.status == 0, "\(arguments[0]): \(result.output)")
        }
        let wardID = try NodeDirectory(ward).configuration().nodeID
        try await Task.sleep(for: .seconds(4))  // the ward's certificate has expired

        // Offline past its expiry, the ward keeps capturing: central refuses it.
        let centralLog = root.appendingPathComponent("central.log").path, wardLog = root.appendingPathComponent("ward.log").path
        let centralProcess = try SuifangBinary.start(["serve", "--dir", central], log: centralLog)
        defer { centralProcess.terminate() }
        func logs() -> String {
            ((try? String(contentsOfFile: centralLog, encoding: .utf8)) ?? "") + ((try? String(contentsOfFile: wardLog, encoding: .utf8)) ?? "")
        }
        for _ in 0..<150 where !logs().contains("listening for sync") { try await Task.sleep(for: .milliseconds(100)) }
        let offline = try SuifangBinary.start(
            ["serve", "--dir", ward, "--traffic-per-second", "20", "--traffic-seconds", "2", "--traffic-log", root.appendingPathComponent("traffic.log").path],
            log: wardLog)
        // Waited for, not slept: on a loaded machine the ward takes seconds to start. First central's
        // refusal and a commit captured, then the end of the traffic's 2 s (the ward's own commits
        // stop growing).
        let deadline = ContinuousClock.now + .seconds(90)
        var captured: UInt64 = 0
        while ContinuousClock.now < deadline, !logs().contains("expired") || captured == 0 {
            try await Task.sleep(for: .milliseconds(200))
            captured = (try? ownSeq(ward, wardID)) ?? 0
        }
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .seconds(1))
            let now = (try? ownSeq(ward, wardID)) ?? 0
            if now == captured { break }
            captured = now
        }
        offline.terminate()
        offline.waitUntilExit()
        #expect(try ownSeq(ward, wardID) == captured, "the ward's commits stopped growing before it was stopped")
        #expect(captured > 0, "the ward captured nothing offline")
        #expect(try ownSeq(central, wardID) == 0, "central took commits from an expired certificate")
        #expect(logs().contains("expired"), "\(logs())")

        // A new code for the same node; the ward re-enrols in place, keeping its key, id and replica.
        let enroll = try SuifangBinary.run(["enroll", "--dir", central, "--name", "ward-5a", "--role", "ward", "--ward", "W-CARD", "--json"])
        let code = try #require((try JSONSerialization.jsonObject(with: Data(enroll.output.utf8)) as? [String: Any])?["code"] as? String)
        let reenrol = try SuifangBinary.run(["init", "--enrol", code, "--central", "127.0.0.1:\(port)", "--dir", ward])
        #expect(reenrol.status == 0 && reenrol.output.contains("replica kept"), "\(reenrol.output)")
        #expect(try NodeDirectory(ward).configuration().nodeID == wardID)
        #expect(try ownSeq(ward, wardID) == captured, "the replica was kept")

        let online = try SuifangBinary.start(["serve", "--dir", ward], log: wardLog)
        defer { online.terminate() }
        var arrived: UInt64 = 0
        let caughtUp = ContinuousClock.now + .seconds(120)
        while arrived < captured, ContinuousClock.now < caughtUp {
            try await Task.sleep(for: .milliseconds(200))
            arrived = (try? ownSeq(central, wardID)) ?? 0
        }
        #expect(arrived == captured, "central holds \(arrived) of the \(captured) commits the ward captured offline")
    }

    /// The newest commit of `origin` that the node in `directory` holds (from `status --json`).
    func ownSeq(_ directory: String, _ origin: String) throws -> UInt64 {
        let status = try SuifangBinary.run(["status", "--dir", directory, "--json"])
        let report = try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any]
        return ((report?["versionVector"] as? [String: Any])?[origin] as? NSNumber)?.uint64Value ?? 0
    }
}
