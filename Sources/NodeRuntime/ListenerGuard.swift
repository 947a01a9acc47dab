import Foundation
import Replica
import Synchronization

/// How much of a node's listener one peer, or everyone together, may hold.
package struct ListenerLimits: Sendable {
    /// Connections open at once from one address.
    package var perAddress = 8
    /// Connections open at once in all.
    package var total = 256
    /// Time a connection has to complete the handshake before it is closed.
    package var handshakeDeadline: Duration = .seconds(10)

    package init(perAddress: Int = 8, total: Int = 256, handshakeDeadline: Duration = .seconds(10)) {
        self.perAddress = perAddress
        self.total = total
        self.handshakeDeadline = handshakeDeadline
    }
}

/// Admission before any byte is read: caps on open connections per address and in all, and one live
/// inbound session per node id (a newer session of the same node ends the older, so a half-open
/// connection never locks a node out). Owned by a ``SyncListener``.
package final class ListenerGuard: Sendable {
    package let limits: ListenerLimits
    private struct State {
        var total = 0
        var perAddress: [String: Int] = [:]
        var sessions: [NodeID: (token: UUID, close: @Sendable () -> Void)] = [:]
    }
    private let state = Mutex(State())

    package init(limits: ListenerLimits = ListenerLimits()) {
        self.limits = limits
    }

    /// Takes a connection slot for `host`; false when a cap is reached (close the connection at once).
    package func admit(host: String) -> Bool {
        state.withLock { state in
            guard state.total < limits.total, state.perAddress[host, default: 0] < limits.perAddress else { return false }
            state.total += 1
            state.perAddress[host, default: 0] += 1
            return true
        }
    }

    /// Gives a connection slot back.
    package func release(host: String) {
        state.withLock { state in
            state.total -= 1
            let left = state.perAddress[host, default: 1] - 1
            state.perAddress[host] = left > 0 ? left : nil
        }
    }

    /// Makes this the node's live inbound session, ending the one it had; returns the token to end it with.
    package func claimSession(of node: NodeID, close: @escaping @Sendable () -> Void) -> UUID {
        let token = UUID()
        let previous = state.withLock { state in
            defer { state.sessions[node] = (token, close) }
            return state.sessions[node]?.close
        }
        previous?()
        return token
    }

    /// Ends a session's claim, unless a newer session of the node took it over.
    package func endSession(of node: NodeID, token: UUID) {
        state.withLock { state in
            if state.sessions[node]?.token == token { state.sessions[node] = nil }
        }
    }

    /// Open connections now (for tests and status).
    package var openConnections: Int { state.withLock { $0.total } }
}
