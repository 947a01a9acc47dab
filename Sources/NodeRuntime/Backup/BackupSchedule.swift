import Foundation

/// Backups a running node takes by itself (node.json `backup`, or `serve --backup-dir`): one
/// every `everyHours` into `directory`, the newest `keep` kept. Central is where a hospital sets
/// it; any node may.
///
/// ```json
/// "backup": { "directory": "/var/backups/suifang", "everyHours": 24, "keep": 14 }
/// ```
package struct BackupSchedule: Codable, Sendable, Equatable {
    /// Where the backups go (best on another disk, or a mounted share).
    package var directory: String
    /// Hours between two backups.
    package var everyHours: Double
    /// How many backups are kept; older ones are deleted once a new one is written.
    package var keep: Int

    package init(directory: String, everyHours: Double = 24, keep: Int = 14) {
        self.directory = directory
        self.everyHours = everyHours
        self.keep = keep
    }

    /// - Throws: ``NodeSetupError`` for an interval outside 1 minute…1 year or fewer than 1 kept.
    package func validate() throws {
        guard everyHours >= 1.0 / 60, everyHours <= 24 * 366 else { throw NodeSetupError("backups are taken every 1 minute to 1 year (everyHours \(everyHours))") }
        guard keep >= 1, keep <= 10_000 else { throw NodeSetupError("a backup schedule keeps 1 to 10000 backups (keep \(keep))") }
    }

    /// The file name of a backup taken at `now` (ms since 1970): sorting the names sorts the backups by time.
    static func fileName(node: String, at now: UInt64) -> String {
        "\(node)-\(stampFormatter().string(from: Date(timeIntervalSince1970: Double(now) / 1000))).sfbackup"
    }

    /// When a backup named by ``fileName(node:at:)`` was taken (seconds since 1970).
    static func takenAt(_ name: String) -> Double? {
        let stamp = name.dropLast(".sfbackup".count).suffix(16)
        return stampFormatter().date(from: String(stamp))?.timeIntervalSince1970
    }

    private static func stampFormatter() -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter
    }
}

extension NodeDirectory {
    /// What one look at the schedule did.
    package struct ScheduledBackupOutcome: Sendable, Equatable {
        /// The backup written, when one was due.
        package var written: String?
        /// Backups deleted beyond the number kept.
        package var removed: [String]
    }

    /// Takes a backup when the newest one in the schedule's directory is older than its interval
    /// (or there is none), then deletes this node's oldest backups beyond `keep`. Files that are not
    /// this node's backups, and backups dated in the future, are never touched.
    package func runScheduledBackup(_ schedule: BackupSchedule, now: UInt64) throws -> ScheduledBackupOutcome {
        let node = try configuration().name
        let folder = URL(fileURLWithPath: schedule.directory)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // A name dated after now (a clock that was wrong, or a file put there) is left alone: counted,
        // it would stop new backups until that date and make pruning delete the genuine ones first.
        let latest = Double(now) / 1000 + 300
        func backups() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: folder.path)
                .filter { name in
                    name.hasPrefix("\(node)-") && name.hasSuffix(".sfbackup") && name.count == node.count + 26
                        && BackupSchedule.takenAt(name).map { $0 <= latest } == true
                }
                .sorted()
        }
        var outcome = ScheduledBackupOutcome(written: nil, removed: [])
        let newest = try backups().last.flatMap(BackupSchedule.takenAt)
        if newest.map({ Double(now) / 1000 - $0 >= schedule.everyHours * 3600 - 1 }) ?? true {
            let path = folder.appendingPathComponent(BackupSchedule.fileName(node: node, at: now)).path
            _ = try backup(to: path, now: now)
            outcome.written = path
        }
        for name in try backups().dropLast(schedule.keep) {
            try FileManager.default.removeItem(at: folder.appendingPathComponent(name))
            outcome.removed.append(name)
        }
        return outcome
    }
}
