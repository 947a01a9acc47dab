import Foundation
import Replica
import Synchronization

/// The one wall clock tests move by hand: a replica reads it in milliseconds, a CRM as dates.
public final class TestClock: WallClock, Sendable {
    private let milliseconds: Mutex<UInt64>

    /// 2026-05-28, an ordinary moment for replica tests.
    public init(_ start: UInt64 = 1_780_000_000_000) {
        self.milliseconds = Mutex(start)
    }

    /// A clock at `date` (the CRM tests start at ``hospitalMorning``).
    public convenience init(date: Date) {
        self.init(UInt64(date.timeIntervalSince1970 * 1000))
    }

    /// 2026-11-23 09:00 in Shanghai, a Monday morning.
    public static let hospitalMorning = Date(timeIntervalSince1970: 1_795_395_600)

    public func now() -> UInt64 { milliseconds.withLock { $0 } }
    /// Now as a date.
    public var current: Date { Date(timeIntervalSince1970: Double(now()) / 1000) }

    public func advance(by delta: UInt64) { milliseconds.withLock { $0 += delta } }
    public func advance(hours: Double) { milliseconds.withLock { $0 = UInt64(Double($0) + hours * 3_600_000) } }
    public func set(_ value: UInt64) { milliseconds.withLock { $0 = value } }
    public func set(_ date: Date) { set(UInt64(date.timeIntervalSince1970 * 1000)) }
}
