import Replica

/// The messages of an established (encrypted) session. Each is one encrypted frame:
///
/// ```
/// 0x01 summary   versionVector               what I hold
/// 0x02 batch     id varint | zlib bytes       changes you lack (a compressed ChangeBatch)
/// 0x03 ack       id varint | versionVector    applied; what I hold now
/// 0x04 caughtUp                               I have sent all you lacked as of your summary
/// 0x05 refusal   code u8 | text               I am ending this session, and why
/// 0x06 goodbye                                clean end (sent with the stream's final tag)
/// 0x07 heartbeat                              I am here (live sessions, every heartbeat interval)
/// 0x08 heads     count varint | (origin u64le | seq varint | hash bytes | signature bytes)*
///                                             the newest signed head I hold of each origin (once, after the summary)
/// 0x09 feed      id varint | zlib bytes       central to a ward node under scoped policies: the
///                                             state of rows in its scope (a compressed RowFeed)
/// 0x0A policies  text                        the canonical text of my conflict policies (protocol 3 on,
///                                             once, right after the handshake, when the hashes differ)
/// versionVector = count varint | (origin u64le | seq varint)*
/// ```
package enum SyncMessage: Hashable, Sendable {
    case summary(VersionVector)
    case batch(id: UInt64, compressed: [UInt8])
    case ack(id: UInt64, VersionVector)
    case caughtUp
    case refusal(SyncError.Code, String)
    case goodbye
    case heartbeat
    case heads([SignedHead])
    case feed(id: UInt64, compressed: [UInt8])
    case policies(String)

    /// The most signed heads one `heads` message may carry (each costs the receiver a verification).
    static let maximumHeads = 4096

    var encoded: [UInt8] {
        var writer = BinaryWriter()
        switch self {
        case .summary(let vector):
            writer.writeByte(1)
            writer.writeVector(vector)
        case .batch(let id, let compressed):
            writer.writeByte(2)
            writer.writeVarint(id)
            writer.writeBytes(compressed)
        case .ack(let id, let vector):
            writer.writeByte(3)
            writer.writeVarint(id)
            writer.writeVector(vector)
        case .caughtUp:
            writer.writeByte(4)
        case .refusal(let code, let text):
            writer.writeByte(5)
            writer.writeByte(code.rawValue)
            writer.writeString(String(text.prefix(500)))
        case .goodbye:
            writer.writeByte(6)
        case .heartbeat:
            writer.writeByte(7)
        case .feed(let id, let compressed):
            writer.writeByte(9)
            writer.writeVarint(id)
            writer.writeBytes(compressed)
        case .policies(let text):
            writer.writeByte(10)
            writer.writeString(text)
        case .heads(let heads):
            writer.writeByte(8)
            writer.writeVarint(UInt64(heads.count))
            for head in heads {
                writer.writeFixed64(head.origin.rawValue)
                writer.writeVarint(head.seq)
                writer.writeBytes(head.hash)
                writer.writeBytes(head.signature)
            }
        }
        return writer.bytes
    }

    package init(decoding bytes: [UInt8]) throws(SyncError) {
        var reader = BinaryReader(bytes)
        do throws(MalformedDataError) {
            switch try reader.readByte() {
            case 1: self = .summary(try reader.readVector())
            case 2:
                let id = try reader.readVarint()
                self = .batch(id: id, compressed: Array(try reader.readBytes()))
            case 3:
                let id = try reader.readVarint()
                self = .ack(id: id, try reader.readVector())
            case 4: self = .caughtUp
            case 5:
                let code = SyncError.Code(rawValue: try reader.readByte()) ?? .refusedByPeer
                self = .refusal(code, try reader.readString())
            case 6: self = .goodbye
            case 7: self = .heartbeat
            case 8:
                let count = try reader.readCount(limit: min(reader.remaining / 11, Self.maximumHeads))
                var heads: [SignedHead] = []
                for _ in 0..<count {
                    let origin = NodeID(try reader.readFixed64())
                    let seq = try reader.readVarint()
                    guard seq <= ChangeBatch.maximumSeq else { throw MalformedDataError("a sequence number beyond 2^63-1") }
                    let hash = Array(try reader.readBytes())
                    let signature = Array(try reader.readBytes())
                    guard hash.count == 32, signature.count == 64 else { throw MalformedDataError("a head's hash is 32 bytes, its signature 64") }
                    heads.append(SignedHead(origin: origin, seq: seq, hash: hash, signature: signature))
                }
                self = .heads(heads)
            case 9:
                let id = try reader.readVarint()
                self = .feed(id: id, compressed: Array(try reader.readBytes()))
            case 10:
                guard reader.remaining <= Handshake.maximumPolicyTextBytes + 8 else { throw MalformedDataError("a policy text longer than 1 MiB") }
                self = .policies(try reader.readString())
            case let type: throw MalformedDataError("unknown message type \(type)")
            }
            guard reader.isAtEnd else { throw MalformedDataError("trailing bytes") }
        } catch {
            throw SyncError(.protocolViolation, "a malformed message: \(error.reason)")
        }
    }
}
