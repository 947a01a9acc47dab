import Foundation
import Hummingbird
import NodeRuntime
import Replica

/// `GET /api/ready`: whether the node can do its work now, for a load balancer or an orchestrator
/// (`GET /api/health` is liveness: the process answers). 200 when ready, 503 with the failed
/// checks otherwise. Public: it names no peer, address or patient.
package struct NodeReadiness: Codable, Sendable {
    package var ready: Bool
    /// Each check by name: `ok`, or what is wrong.
    package var checks: [String: String]

    /// Reads the replica (a query, on a reader connection) and the node's certificate.
    package static func check(_ runtime: NodeRuntime) async -> NodeReadiness {
        var checks: [String: String] = [:]
        checks["replica"] = await runtime.replicaAnswers() ? "ok" : "cannot read the replica"

        checks["certificate"] = runtime.replica.wallClock.now() < runtime.certificateExpiresAt ? "ok" : "expired: peers refuse this node"
        return NodeReadiness(ready: checks.values.allSatisfy { $0 == "ok" }, checks: checks)
    }

    /// The answer: 200 or 503, the checks as JSON.
    var response: Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = (try? encoder.encode(self)) ?? Data("{\"ready\":false}".utf8)
        return Response(
            status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
