import Foundation
import GRDB

/// Failed logins, counted per user name and per client address in the node's local table
/// `crm_login_failure` (kept across restarts, never replicated: each node guards its own door).
///
/// - After ``freeFailures`` failures of a key within ``window``, each further attempt waits for a
///   back-off that doubles with every failure (2 s, 4 s, … at most ``maximumBackOff``).
/// - After ``lockoutFailures`` failures of a user name within the window the account is locked for
///   ``window`` (an administrator sees it on the accounts page; setting a new password unlocks it).
/// - An attempt refused by the guard is not checked at all (no password is tried), so guessing
///   stops at the door, and it answers the same whether or not the user exists.
struct LoginGuard {
    static let freeFailures = 3
    static let lockoutFailures = 10
    static let window: TimeInterval = 15 * 60
    static let maximumBackOff: TimeInterval = 60

    /// The keys an attempt counts against.
    static func keys(username: String, address: String?) -> [String] {
        ["user:" + username] + (address.map { ["address:" + $0] } ?? [])
    }

    /// When the next attempt of any of these keys may be tried (nil: now).
    static func waitUntil(_ keys: [String], now: Date, _ db: Database) throws -> Date? {
        var until: Date?
        for key in keys {
            guard let row = try Row.fetchOne(db, sql: "SELECT failures, lastAt FROM crm_login_failure WHERE key = ?", arguments: [key]) else { continue }
            let failures: Int = row["failures"], last = Date(timeIntervalSince1970: row["lastAt"])
            guard now.timeIntervalSince(last) < window else { continue }
            let wait: TimeInterval =
                key.hasPrefix("user:") && failures >= lockoutFailures
                ? window
                : failures > freeFailures ? min(pow(2, Double(failures - freeFailures)), maximumBackOff) : 0
            let allowed = last.addingTimeInterval(wait)
            if allowed > now { until = max(until ?? allowed, allowed) }
        }
        return until
    }

    /// Lets an attempt through, counting it as a failure in advance (in the same transaction as the
    /// check: parallel guesses each count, none slips through while another is being verified; a
    /// success takes it back with ``succeeded(_:_:)``). False: the attempt must wait.
    static func admit(_ keys: [String], now: Date, _ db: Database) throws -> Bool {
        guard try waitUntil(keys, now: now, db) == nil else { return false }
        try recordFailure(keys, now: now, db)
        return true
    }

    /// Counts a failure against every key (a failure older than the window starts a new count).
    static func recordFailure(_ keys: [String], now: Date, _ db: Database) throws {
        for key in keys {
            try db.execute(
                sql: """
                    INSERT INTO crm_login_failure (key, failures, lastAt) VALUES (?, 1, ?)
                    ON CONFLICT (key) DO UPDATE SET failures = CASE WHEN ? - lastAt >= ? THEN 1 ELSE failures + 1 END, lastAt = excluded.lastAt
                    """, arguments: [key, now.timeIntervalSince1970, now.timeIntervalSince1970, window])
        }
    }

    /// A successful login: the attempt counted in advance is taken back, and the user's failures are
    /// forgotten (not the address's: one good password does not excuse an address that tries many names).
    static func succeeded(_ keys: [String], _ db: Database) throws {
        for key in keys where key.hasPrefix("address:") {
            try db.execute(sql: "UPDATE crm_login_failure SET failures = failures - 1 WHERE key = ? AND failures > 0", arguments: [key])
        }
        if let user = keys.first(where: { $0.hasPrefix("user:") }) {
            try db.execute(sql: "DELETE FROM crm_login_failure WHERE key = ?", arguments: [user])
        }
    }

    /// Forgets a user's failures (an administrator set a new password).
    static func clear(username: String, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM crm_login_failure WHERE key = ?", arguments: ["user:" + username])
    }

    /// Until when an account is locked out, if it is.
    static func lockedUntil(username: String, now: Date, _ db: Database) throws -> Date? {
        guard let row = try Row.fetchOne(db, sql: "SELECT failures, lastAt FROM crm_login_failure WHERE key = ?", arguments: ["user:" + username]),
            (row["failures"] as Int) >= lockoutFailures
        else { return nil }
        let until = Date(timeIntervalSince1970: row["lastAt"]).addingTimeInterval(window)
        return until > now ? until : nil
    }
}
