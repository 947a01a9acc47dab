import GRDB
import Synchronization

/// Opens replicated tables to writes only while the replica itself executes a statement.
///
/// Guard triggers call the SQL function `sf_replica_writing()`; it answers 1 only
/// inside ``open(_:)``. Any other write — from app code, a tool, or a caller holding
/// the `Database` inside a replica transaction — aborts.
final class WriteGate: Sendable {
    static let functionName = "sf_replica_writing"
    private let isOpen = Mutex(false)

    var function: DatabaseFunction {
        DatabaseFunction(Self.functionName, argumentCount: 0, pure: false) { [self] _ in
            isOpen.withLock { $0 } ? 1 : 0
        }
    }

    func open<T>(_ body: () throws -> T) rethrows -> T {
        isOpen.withLock { $0 = true }
        defer { isOpen.withLock { $0 = false } }
        return try body()
    }
}
