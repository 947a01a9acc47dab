import Replica
import Sodium

/// Central's answer to a revoked node's hello: wipe your replica and keys.
///
/// ```
/// "SFW1" | node id (string) | central's certificate (len varint) | signature[64]
/// signature = Ed25519_central("suifang-wipe-v1" ‖ node id ‖ the revoked node's hello nonce)
/// ```
/// It travels in the clear, like hello and refusals, but the revoked node obeys it only when
/// central's certificate verifies under the cluster key it pinned, names the central role, the
/// signature verifies under that certificate, and it names this node and this connection's hello
/// nonce (so an order cannot be forged, replayed to another node, or replayed later). Anything
/// else is a failed handshake, and nothing is wiped.
package struct WipeOrder {
    static let magic = Array("SFW1".utf8)
    static let context = Array("suifang-wipe-v1".utf8)

    var nodeID: NodeID
    var central: NodeCertificate
    var signature: [UInt8]

    /// An order to `nodeID`, signed by central for the hello that carried `nonce`.
    static func sign(to nodeID: NodeID, nonce: [UInt8], by central: NodeIdentity) -> WipeOrder {
        WipeOrder(nodeID: nodeID, central: central.certificate, signature: central.key.sign(statement(nodeID, nonce)))
    }

    static func statement(_ nodeID: NodeID, _ nonce: [UInt8]) -> [UInt8] {
        context + Array(nodeID.description.utf8) + nonce
    }

    var encoded: [UInt8] {
        var writer = BinaryWriter()
        for byte in Self.magic { writer.writeByte(byte) }
        writer.writeString(nodeID.description)
        writer.writeBytes(central.encoded)
        writer.writeBytes(signature)
        return writer.bytes
    }

    /// Decodes and checks an order for this node and hello.
    /// - Throws: ``SyncError`` `.handshakeFailed` for anything that is not a valid order to this node.
    static func verified(_ bytes: [UInt8], to own: NodeID, nonce: [UInt8], clusterKey: [UInt8], now: UInt64) throws(SyncError) -> WipeOrder {
        var reader = BinaryReader(Array(bytes.dropFirst(magic.count)))
        let fields: (nodeID: NodeID, certificate: [UInt8], signature: [UInt8])
        do throws(MalformedDataError) {
            let id = try reader.readString()
            let certificate = Array(try reader.readBytes())
            let signature = Array(try reader.readBytes())
            guard reader.isAtEnd, let nodeID = NodeID(hex: id) else { throw MalformedDataError("fields") }
            fields = (nodeID, certificate, signature)
        } catch {
            throw SyncError(.handshakeFailed, "a malformed wipe order was ignored: \(error.reason)")
        }
        let order: WipeOrder
        do {
            order = WipeOrder(nodeID: fields.nodeID, central: try NodeCertificate(decoding: fields.certificate), signature: fields.signature)
        } catch {
            throw SyncError(.handshakeFailed, "a wipe order with an unreadable certificate was ignored")
        }
        do {
            try order.central.verify(clusterKey: clusterKey, now: now)
        } catch {
            throw SyncError(.handshakeFailed, "a wipe order not from this cluster's central was ignored")
        }
        guard order.central.role == .central, order.nodeID == own,
            SigningKey.verify(order.signature, of: statement(own, nonce), by: order.central.publicKey)
        else {
            throw SyncError(.handshakeFailed, "a forged or replayed wipe order was ignored")
        }
        return order
    }
}
