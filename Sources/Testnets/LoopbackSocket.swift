import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One blocking TCP connection to a loopback port, for benchmarks: it measures the server, not a
/// client library. ``LoopbackHTTPClient`` and ``LoopbackMLLPClient`` speak over it.
package final class LoopbackSocket {
    private let socket: Int32
    private var buffer: [UInt8] = []

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    package init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(socket)
            throw Failure(description: "cannot connect to 127.0.0.1:\(port)")
        }
        var one: Int32 = 1
        setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(socket) }

    package func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw Failure(description: "send failed") }
            sent += n
        }
    }

    /// The bytes up to `delimiter` (dropped with it).
    package func read(until delimiter: [UInt8]) throws -> [UInt8] {
        while true {
            if let end = buffer.firstRange(of: delimiter) {
                let head = Array(buffer[..<end.lowerBound])
                buffer.removeSubrange(..<end.upperBound)
                return head
            }
            try fill()
        }
    }

    /// Exactly `count` bytes.
    package func read(_ count: Int) throws -> [UInt8] {
        while buffer.count < count { try fill() }
        let result = Array(buffer[..<count])
        buffer.removeSubrange(..<count)
        return result
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw Failure(description: "connection closed") }
        buffer += chunk[0..<n]
    }
}

/// An HIS interface engine, for benchmarks: one message then its ACK (original mode), or several
/// in flight.
package final class LoopbackMLLPClient {
    private let connection: LoopbackSocket

    package init(port: Int) throws {
        connection = try LoopbackSocket(port: port)
    }

    /// Sends one message framed and returns its ACK, unframed.
    package func exchange(_ message: [UInt8]) throws -> [UInt8] {
        try send(message)
        return try receive()
    }

    /// Sends one message framed, without waiting for its ACK.
    package func send(_ message: [UInt8]) throws {
        try connection.send([0x0B] + message + [0x1C, 0x0D])
    }

    /// The next ACK, unframed.
    package func receive() throws -> [UInt8] {
        Array(try connection.read(until: [0x1C, 0x0D]).drop { $0 != 0x0B }.dropFirst())
    }
}
