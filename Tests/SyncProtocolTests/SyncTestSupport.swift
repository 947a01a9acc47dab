import Foundation
import GRDB
import Logging
import Replica
import Sodium
import Synchronization
import TestSupport

@testable import SyncProtocol

let syncTestPolicies: PolicySet = try! PolicySet(
    parsing: """
        table patient
          key id
          column name text
          column phone text keep-both
        table surveyResponse append-only
          key id
          column patientId text
          column answers text
        """)

let testNow: UInt64 = 1_780_000_000_000

/// A hospital's cluster key and certificates for its nodes.
struct TestCluster {
    let key = SigningKey()

    func identity(
        _ id: UInt64, _ name: String, role: NodeRole = .ward, wards: [String] = [], issuedAt: UInt64 = testNow - 1000,
        validFor: UInt64 = 365 * 86_400_000
    ) throws -> NodeIdentity {
        let nodeKey = SigningKey()
        let certificate = try NodeCertificate.issue(
            nodeID: NodeID(id), role: role, name: name, publicKey: nodeKey.publicKey, wards: wards,
            by: key, issuedAt: issuedAt, validFor: validFor)
        return try NodeIdentity(key: nodeKey, certificate: certificate, clusterKey: key.publicKey)
    }

    func admission(_ identity: NodeIdentity, policies: PolicySet = syncTestPolicies, revoked: Set<NodeID> = []) -> PeerAdmission {
        PeerAdmission(identity: identity, policies: policies, isRevoked: { revoked.contains($0) }, now: { testNow })
    }
}

/// A replica that signs as `identity` and identifies other origins by their certificates, as nodes do.
func makeSyncReplica(_ identity: NodeIdentity, policies: PolicySet = syncTestPolicies) throws -> Replica {
    var configuration = ReplicaConfiguration(nodeID: identity.nodeID, policies: policies, rowIDSeed: identity.nodeID.rawValue)
    configuration.authority = CertificateTrust(identity: identity)
    return try Replica.inMemory(configuration: configuration)
}

/// Records (and optionally tampers with) every frame one side sends.
final class TappedSender: FrameSending, Sendable {
    let inner: MemoryFrameSender
    let recorded = Mutex<[[UInt8]]>([])
    let tamper: (@Sendable (Int, [UInt8]) -> [[UInt8]])?

    init(_ inner: MemoryFrameSender, tamper: (@Sendable (Int, [UInt8]) -> [[UInt8]])? = nil) {
        self.inner = inner
        self.tamper = tamper
    }

    func send(_ frame: [UInt8]) async throws {
        let index = recorded.withLock { frames in
            frames.append(frame)
            return frames.count - 1
        }
        for piece in tamper?(index, frame) ?? [frame] {
            try await inner.send(piece)
        }
    }

    func close() async {
        await inner.close()
    }

    var bytes: [UInt8] { recorded.withLock { $0.flatMap { $0 } } }
}

/// Runs a handshake between two admissions over an in-memory pipe; returns both outcomes.
func handshake(
    client: PeerAdmission, server: PeerAdmission, clientVersion: UInt16 = Handshake.supportedVersions.upperBound
)
    async -> (client: Result<NodeCertificate, SyncError>, server: Result<NodeCertificate, SyncError>, versions: [UInt16])
{
    let (a, b) = MemoryFrameTransport.pair()
    let versions = Mutex<[UInt16]>([])
    async let serverSide: Result<NodeCertificate, SyncError> = {
        var receiver = b.receiver
        do {
            let channel = try await Handshake.perform(as: .server, admission: server, sender: b.sender, receiver: &receiver)
            versions.withLock { $0.append(channel.version) }
            return .success(channel.peer)
        } catch let error as SyncError {
            await b.sender.close()
            return .failure(error)
        } catch {
            return .failure(SyncError(.handshakeFailed, "\(error)"))
        }
    }()
    var receiver = a.receiver
    let clientSide: Result<NodeCertificate, SyncError>
    do {
        let channel = try await Handshake.perform(as: .client, admission: client, version: clientVersion, sender: a.sender, receiver: &receiver)
        versions.withLock { $0.append(channel.version) }
        clientSide = .success(channel.peer)
    } catch let error as SyncError {
        await a.sender.close()
        clientSide = .failure(error)
    } catch {
        clientSide = .failure(SyncError(.handshakeFailed, "\(error)"))
    }
    let server = await serverSide
    return (clientSide, server, versions.withLock { $0 })
}

/// A one-shot sync from `client` to `server` (server in live mode) over an in-memory pipe.
func syncOverMemory(
    client: (Replica, PeerAdmission), server: (Replica, PeerAdmission),
    tamperClient: (@Sendable (Int, [UInt8]) -> [[UInt8]])? = nil,
    options: SyncOptions = SyncOptions(mode: .oneShot, maxChangesPerBatch: 50),
    serverOutcome: (@Sendable (Result<SyncReport, any Error>) -> Void)? = nil
) async throws -> (SyncReport, TappedSender, TappedSender) {
    let (a, b) = MemoryFrameTransport.pair()
    let clientSender = TappedSender(a.sender, tamper: tamperClient)
    let serverSender = TappedSender(b.sender)
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    let serverTask = Task {
        var receiver = b.receiver
        let channel = try await Handshake.perform(as: .server, admission: server.1, sender: serverSender, receiver: &receiver)
        var live = options
        live.mode = .live
        defer { Task { await serverSender.close() } }
        return try await SyncSession(replica: server.0, channel: channel, options: live, logger: logger).run(receiving: channel)
    }
    defer { serverTask.cancel() }
    var receiver = a.receiver
    let clientResult: Result<SyncReport, any Error>
    do {
        let channel = try await Handshake.perform(as: .client, admission: client.1, sender: clientSender, receiver: &receiver)
        clientResult = .success(try await SyncSession(replica: client.0, channel: channel, options: options, logger: logger).run(receiving: channel))
    } catch {
        clientResult = .failure(error)
    }
    await clientSender.close()
    serverOutcome?(await serverTask.result)
    return (try clientResult.get(), clientSender, serverSender)
}
