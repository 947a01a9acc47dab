/// A source of wall-clock time in milliseconds since 1970, injected so that
/// tests can drive time (and skew it) deterministically.
public protocol WallClock: Sendable {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    func now() -> UInt64
}

/// The system's real-time clock.
public struct SystemWallClock: WallClock {
    public init() {}

    public func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1000 + UInt64(spec.tv_nsec) / 1_000_000
    }
}

/// What the clock noticed about a remote reading it observed.
public struct ClockSkewReport: Hashable, Sendable {
    /// The node whose change carried the reading.
    public var origin: NodeID
    /// How far the reading was ahead of the local wall clock, in milliseconds.
    public var aheadMilliseconds: UInt64
}

/// A hybrid logical clock (Kulkarni et al.) with a bound on forward skew.
///
/// ## The far-future rule
/// A remote reading more than ``maximumForwardSkew`` milliseconds ahead of
/// the local wall clock is *not* absorbed into this clock: the clock only
/// advances to `wall + maximumForwardSkew`. The change carrying the reading is
/// still merged as stamped (merge must be deterministic, so every replica must
/// see the same stamp), and the skew is reported. Local writes to a value whose
/// stamp is in the future are stamped just after that value (see
/// ``Stamp/causallyAfter(_:)``), so a tablet with a clock set years ahead wins
/// only the conflicts it is truly concurrent with, never every later edit, and
/// its wrong time does not spread into every node's clock.
public struct HybridLogicalClock: Sendable {
    /// The wall clock this clock follows.
    public let wallClock: any WallClock
    /// How far ahead of the wall clock a remote reading may pull this clock.
    public let maximumForwardSkew: UInt64
    /// The last reading issued or observed.
    public private(set) var last: HLC

    /// Creates a clock that never goes back before `last`.
    public init(wallClock: any WallClock, maximumForwardSkew: UInt64 = 5 * 60 * 1000, last: HLC = .zero) {
        self.wallClock = wallClock
        self.maximumForwardSkew = maximumForwardSkew
        self.last = last
    }

    /// Issues a reading for a local event: later than every reading issued or observed before.
    public mutating func tick() -> HLC {
        let physical = HLC(milliseconds: wallClock.now(), counter: 0)
        last = max(physical, last.successor)
        return last
    }

    /// Observes a remote reading, advancing the clock within the skew bound.
    /// - Returns: a report when the reading was further ahead than the bound allows.
    public mutating func observe(_ remote: HLC, from origin: NodeID) -> ClockSkewReport? {
        let wall = wallClock.now()
        let ceiling = HLC(milliseconds: wall + maximumForwardSkew, counter: .max)
        if remote > ceiling {
            last = max(last, ceiling)
            return ClockSkewReport(origin: origin, aheadMilliseconds: remote.milliseconds - wall)
        }
        last = max(last, remote)
        return nil
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
