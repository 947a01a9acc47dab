import CRMDomain
import Logging
import Replica
import Sodium
import SyncProtocol

extension NodeRuntime {
    /// Opens the node in `directory`: configuration, identity and replica.
    /// - Parameter passwordStrength: libsodium's interactive limits; tests use the minimum.
    package static func open(
        directory path: String, policies: String? = nil, logger: Logger, clockSkewMilliseconds: Int64 = 0,
        passwordStrength: PasswordHasher.Strength = .interactive
    ) throws -> (NodeDirectory, NodeConfiguration, NodeRuntime) {
        try open(directory: NodeDirectory(path), policies: policies, logger: logger, clockSkewMilliseconds: clockSkewMilliseconds, passwordStrength: passwordStrength)
    }

    /// Opens the node in `directory` (which may carry an `--unlock` override).
    package static func open(
        directory: NodeDirectory, policies: String? = nil, logger: Logger, clockSkewMilliseconds: Int64 = 0,
        passwordStrength: PasswordHasher.Strength = .interactive
    ) throws -> (NodeDirectory, NodeConfiguration, NodeRuntime) {
        try directory.restrictPermissions()
        let configuration = try directory.configuration()
        let identity = try directory.identity()
        let replica = try directory.openReplica(
            policies: try directory.policies(override: policies), identity: identity,
            logger: logger, wallClock: SkewedWallClock(offset: clockSkewMilliseconds))
        let enrolment =
            identity.certificate.role == .central
            ? EnrolmentDesk(directory: directory, logger: logger, isRevoked: { NodeRuntime.isRevoked($0, in: replica) }) : nil
        return (
            directory, configuration,
            try NodeRuntime(
                replica: replica, identity: identity, logger: logger, passwordStrength: passwordStrength, enrolment: enrolment,
                metrics: NodeMetrics(replicaPath: directory.replicaPath))
        )
    }
}

/// The system clock shifted by a fixed offset (testnets model a wrong tablet clock with it).
package struct SkewedWallClock: WallClock {
    package let offset: Int64

    package init(offset: Int64) {
        self.offset = offset
    }

    package func now() -> UInt64 {
        UInt64(max(0, Int64(SystemWallClock().now()) + offset))
    }
}
