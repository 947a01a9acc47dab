import Foundation
import Replica
import Sodium
import SyncProtocol
import TestSupport
import Testing

@testable import NodeRuntime
@testable import Testnets

/// Enrolment by one-time code: central's bookkeeping in process, then the whole path with real
/// processes (`enroll --json` on central, `init --enrol CODE --central` on the new node, a sync).
@Suite("Enrolment by one-time code")
struct EnrolmentCodeTests {
    /// A central made in process, with a code issued for `ward-5a`.
    struct Central {
        let root: URL
        let directory: NodeDirectory
        let code: String
        let expiresAt: UInt64

        init(hours: Double = 4) throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("codes-\(UUID())")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            directory = NodeDirectory(root.appendingPathComponent("central").path)
            let setup = NodeSetup(
                listen: "127.0.0.1:1", policies: PolicyDirectory(RepositoryFiles.policiesDirectory.path),
                unlock: .keyFile(root.appendingPathComponent("central.key").path))
            try directory.createCentral(name: "central", setup)
            (code, expiresAt) = try directory.issueEnrolmentCode(
                name: "ward-5a", role: .ward, wards: ["W-CARD"], validDays: 30, httpNames: ["ward5a.hospital.lan"], hours: hours, now: SystemWallClock().now())
        }

        var now: UInt64 { SystemWallClock().now() }

        func request(
            code typed: String? = nil, key: SigningKey = SigningKey(), policyHash: String? = nil, signingRequest: [UInt8]? = nil, previous: [UInt8] = []
        ) throws -> (EnrolmentRequest, [UInt8]) {
            let code = EnrolmentCode.normalized(typed ?? self.code)!
            let request = EnrolmentRequest.make(
                code: code, key: key, policyHash: try policyHash ?? directory.policies().contentHash,
                signingRequest: try signingRequest ?? NodeDirectory.signingRequest(NodeDirectory.newHTTPKey()), previousCertificate: previous)
            return (request, request.encoded(codeKey: EnrolmentCode.key(code)))
        }

        func remove() { try? FileManager.default.removeItem(at: root) }
    }

    /// Ward ids named at enrolment are plain ASCII: a look-alike of another ward (a Kelvin sign for
    /// `K`), the row-id separator `~`, spaces or controls are refused with a message that shows
    /// the id escaped, for codes and token files alike.
    @Test func enrolmentRefusesWardIdsThatAreNotPlainASCII() throws {
        let central = try Central()
        defer { central.remove() }
        for odd in ["W-\u{212A}1", "W~1", "W 1", "病区1", "", String(repeating: "W", count: 33)] {
            #expect(throws: NodeSetupError.self) {
                try central.directory.issueEnrolmentCode(
                    name: "ward-odd", role: .ward, wards: ["W-CARD", odd], validDays: 30, httpNames: [], hours: 1, now: central.now)
            }
            #expect(throws: NodeSetupError.self) {
                try central.directory.enrol(name: "ward-odd", role: .ward, wards: [odd], centralAddress: nil, validDays: 30)
            }
        }
        _ = try central.directory.issueEnrolmentCode(
            name: "ward-ok", role: .ward, wards: ["W-CARD.2_b:3", String(repeating: "W", count: 32)], validDays: 30, httpNames: [], hours: 1, now: central.now)
    }

    @Test func aCodeEnrolsOneNodeOnceForWhatItWasIssuedFor() throws {
        let central = try Central()
        defer { central.remove() }
        let key = SigningKey()
        let (request, frame) = try central.request(key: key)
        let (answerFrame, outcome) = central.directory.redeemEnrolment(frame, now: central.now, isRevoked: { _ in false })
        let certificate = try outcome.get()
        #expect(certificate.name == "ward-5a" && certificate.role == .ward && certificate.wards == ["W-CARD"] && certificate.publicKey == key.publicKey)
        let answer = try EnrolmentAnswer.verified(answerFrame, for: request, codeKey: EnrolmentCode.key(EnrolmentCode.normalized(central.code)!), now: central.now)
        #expect(answer.clusterKey == (try central.directory.read("cluster.pub")))

        // The same request again, or a new one with the same code: the code is gone.
        for again in [frame, try central.request().1] {
            #expect(central.directory.redeemEnrolment(again, now: central.now, isRevoked: { _ in false }).outcome.failureCode == .unknownCode)
        }
    }

    @Test func anExpiredCodeIsUseless() throws {
        let central = try Central(hours: 1)
        defer { central.remove() }
        let (_, frame) = try central.request()
        let outcome = central.directory.redeemEnrolment(frame, now: central.expiresAt + 1, isRevoked: { _ in false }).outcome
        #expect(outcome.failureCode == .unknownCode)
        // Expired codes are dropped from the file: even the right time later cannot bring it back.
        #expect(central.directory.redeemEnrolment(frame, now: central.now, isRevoked: { _ in false }).outcome.failureCode == .unknownCode)
    }

    @Test func otherPoliciesAreRefusedAndTheCodeKept() throws {
        let central = try Central()
        defer { central.remove() }
        #expect(
            central.directory.redeemEnrolment(try central.request(policyHash: String(repeating: "0", count: 64)).1, now: central.now, isRevoked: { _ in false }).outcome.failureCode
                == .policyMismatch)
        #expect((try? central.directory.redeemEnrolment(try central.request().1, now: central.now, isRevoked: { _ in false }).outcome.get()) != nil)
    }

    @Test func threeUnauthenticatedAttemptsDestroyTheCode() throws {
        let central = try Central()
        defer { central.remove() }
        let (request, _) = try central.request()
        for _ in 0..<3 {
            // The code's id with a MAC under another key (as someone who saw only the id would send).
            let forged = request.encoded(codeKey: Sodium.randomBytes(32))
            #expect(central.directory.redeemEnrolment(forged, now: central.now, isRevoked: { _ in false }).outcome.failureCode == .wrongCode)
        }
        #expect(central.directory.redeemEnrolment(try central.request().1, now: central.now, isRevoked: { _ in false }).outcome.failureCode == .unknownCode)
    }

    @Test func aBadSigningRequestOrGarbageIsRefusedCleanly() throws {
        let central = try Central()
        defer { central.remove() }
        #expect(
            central.directory.redeemEnrolment(try central.request(signingRequest: [0x30, 0x03, 1, 2, 3]).1, now: central.now, isRevoked: { _ in false }).outcome.failureCode
                == .malformed)
        for garbage in [Array("SFE1".utf8), Array("SFE1".utf8) + Sodium.randomBytes(300), []] {
            #expect(central.directory.redeemEnrolment(garbage, now: central.now, isRevoked: { _ in false }).outcome.failureCode == .malformed)
        }
    }

    /// Re-enrolment keeps a node's id only for the node the code was issued for, of this cluster,
    /// holding that certificate's key, and not revoked.
    @Test(arguments: ["another node's name", "other wards", "another cluster", "another key", "revoked", "the node itself"])
    func aReenrolmentKeepsItsIdOnlyForTheNodeTheCodeNames(_ case: String) throws {
        let central = try Central()
        defer { central.remove() }
        let key = SigningKey(), cluster = try SigningKey(secretKey: try central.directory.readSecret("cluster.key"))
        let certificate = try NodeCertificate.issue(
            nodeID: NodeID(0x5A), role: .ward, name: `case` == "another node's name" ? "ward-9" : "ward-5a", publicKey: key.publicKey,
            wards: `case` == "other wards" ? ["W-ONCO"] : ["W-CARD"], by: `case` == "another cluster" ? SigningKey() : cluster, issuedAt: 1, validFor: 1000)
        let frame = try central.request(key: `case` == "another key" ? SigningKey() : key, previous: certificate.encoded).1
        let outcome = central.directory.redeemEnrolment(frame, now: central.now, isRevoked: { `case` == "revoked" && $0 == NodeID(0x5A) }).outcome
        switch `case` {
        case "the node itself":
            let renewed = try outcome.get()
            #expect(renewed.nodeID == NodeID(0x5A) && renewed.publicKey == key.publicKey && renewed.expiresAt > central.now)
        case "revoked": #expect(outcome.failureCode == .revoked)
        default: #expect(outcome.failureCode == .malformed)
        }
    }

    @Test func theCodeFileHoldsNoCodeInTheClear() throws {
        let central = try Central()
        defer { central.remove() }
        let normalized = EnrolmentCode.normalized(central.code)!
        let stored = try central.directory.read(PendingEnrolments.file)
        for secret in [Array(normalized.utf8), Array(central.code.utf8), EnrolmentCode.key(normalized), Array(Data(EnrolmentCode.key(normalized)).base64EncodedString().utf8)] {
            #expect(!stored.contains(secret), "the pending code file shows a secret")
        }
    }

    /// The whole path as an IT person runs it, with real processes.
    @Test func aNewWardEnrolsWithACodeAndSyncs() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("enrol-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let central = root.appendingPathComponent("central").path, ward = root.appendingPathComponent("ward").path
        let port = try await TestnetRunner.freePort()
        let policies = RepositoryFiles.policiesDirectory.path
        let initCentral = try SuifangBinary.run([
            "init", "--role", "central", "--name", "central", "--dir", central, "--listen", "127.0.0.1:\(port)", "--policies", policies,
            "--unlock", "file:" + root.appendingPathComponent("central.key").path,
        ])
        #expect(initCentral.status == 0, "\(initCentral.output)")
        let enroll = try SuifangBinary.run(["enroll", "--dir", central, "--name", "ward-5a", "--role", "ward", "--ward", "W-CARD", "--json"])
        #expect(enroll.status == 0, "\(enroll.output)")
        let printed = try JSONSerialization.jsonObject(with: Data(enroll.output.utf8)) as? [String: Any]
        let code = try #require(printed?["code"] as? String)
        #expect(EnrolmentCode.normalized(code) != nil)

        let centralLog = root.appendingPathComponent("central.log").path
        let centralProcess = try SuifangBinary.start(["serve", "--dir", central], log: centralLog)
        defer { centralProcess.terminate() }
        func joinWard(_ directory: String, _ code: String) throws -> (status: Int32, output: String) {
            try SuifangBinary.run([
                "init", "--enrol", code, "--central", "127.0.0.1:\(port)", "--dir", directory, "--listen", "127.0.0.1:0",
                "--policies", policies, "--unlock", "file:" + root.appendingPathComponent("\(URL(fileURLWithPath: directory).lastPathComponent).key").path,
            ])
        }
        var joined = try joinWard(ward, code)
        for _ in 0..<50 where joined.status != 0 && joined.output.contains("cannot reach central") {
            try await Task.sleep(for: .milliseconds(200))  // central is still starting
            joined = try joinWard(ward, code)
        }
        #expect(joined.status == 0, "\(joined.output)")
        #expect(try NodeDirectory(ward).read("cluster.pub") == (try NodeDirectory(central).read("cluster.pub")), "the ward pinned central's cluster key")
        let configuration = try NodeDirectory(ward).configuration()
        #expect(configuration.role == "ward" && configuration.name == "ward-5a" && configuration.peers == ["127.0.0.1:\(port)"])

        // Used: the same code enrols nothing else.
        let reused = try joinWard(root.appendingPathComponent("thief").path, code)
        #expect(reused.status != 0 && reused.output.contains("unknown, already used or expired"), "\(reused.output)")
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("thief").path), "a refused enrolment leaves no directory")

        let wardProcess = try SuifangBinary.start(["serve", "--dir", ward], log: root.appendingPathComponent("ward.log").path)
        defer { wardProcess.terminate() }
        let deadline = Date().addingTimeInterval(30)
        var log = ""
        while Date() < deadline {
            log = (try? String(contentsOfFile: centralLog, encoding: .utf8)) ?? ""
            if log.contains("sync session started") { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(log.contains("enrolled a node with a one-time code"), "\(log)")
        #expect(log.contains("sync session started"), "the enrolled ward never synced: \(log)")
        #expect(!log.contains(EnrolmentCode.normalized(code)!) && !log.contains(code), "the code is in central's log")
    }
}

extension Result where Failure == EnrolmentError {
    var failureCode: EnrolmentError.Code? {
        if case .failure(let error) = self { return error.code }
        return nil
    }
}
