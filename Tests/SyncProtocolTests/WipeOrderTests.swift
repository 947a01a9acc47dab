import Replica
import Sodium
import Testing

@testable import SyncProtocol

/// Central answers a revoked node's hello with a signed wipe order; the node obeys only an order
/// central signed for it and for this very hello.
@Suite("Wipe orders")
struct WipeOrderTests {
    let cluster = TestCluster()

    @Test func centralOrdersARevokedNodeWipedAndOtherRolesOnlyRefuseIt() async throws {
        let ward = try cluster.identity(2, "ward-5a")
        let central = try cluster.identity(1, "central", role: .central)
        let outcome = await handshake(client: cluster.admission(ward), server: cluster.admission(central, revoked: [ward.nodeID]))
        #expect(outcome.client.failure?.code == .wipeOrdered)
        #expect(outcome.server.failure?.code == .revoked)
        let callCenter = try cluster.identity(3, "callcenter", role: .callcenter)
        let other = await handshake(client: cluster.admission(ward), server: cluster.admission(callCenter, revoked: [ward.nodeID]))
        #expect(other.client.failure?.code == .revoked, "only central orders a wipe")
    }

    /// Orders a scripted server sends in answer to the hello; none of them may wipe the node.
    @Test(arguments: ["ward-signed", "other-cluster", "replayed-nonce", "other-node", "garbage"])
    func aForgedOrReplayedOrderWipesNothing(forgery: String) async throws {
        let ward = try cluster.identity(2, "ward-5a")
        let central = try cluster.identity(1, "central", role: .central)
        let otherCluster = TestCluster()
        let (a, b) = MemoryFrameTransport.pair()
        let server = Task {
            var receiver = b.receiver
            guard let frame = try await receiver.next() else { return }
            let hello = try Hello(decoding: frame)
            let order: [UInt8]
            switch forgery {
            case "ward-signed":
                order = WipeOrder.sign(to: ward.nodeID, nonce: hello.nonce, by: try cluster.identity(4, "ward-9", role: .ward)).encoded
            case "other-cluster":
                order = WipeOrder.sign(to: ward.nodeID, nonce: hello.nonce, by: try otherCluster.identity(1, "central", role: .central)).encoded
            case "replayed-nonce":
                order = WipeOrder.sign(to: ward.nodeID, nonce: Sodium.randomBytes(32), by: central).encoded
            case "other-node":
                order = WipeOrder.sign(to: NodeID(9), nonce: hello.nonce, by: central).encoded
            default:
                order = WipeOrder.magic + [1, 2, 3]
            }
            try await b.sender.send(order)
        }
        var receiver = a.receiver
        do {
            _ = try await Handshake.perform(as: .client, admission: cluster.admission(ward), sender: a.sender, receiver: &receiver)
            Issue.record("the handshake went on after a wipe order")
        } catch let error as SyncError {
            #expect(error.code == .handshakeFailed, "\(forgery): \(error)")
        }
        try await server.value
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
