import Foundation
import GRDB
import Replica
import Sodium

/// A login account (replicated, so every node can log its users in while offline).
public struct UserAccount: Codable, Sendable, Hashable {
    public var id: String
    public var displayName: String
    public var role: Role
    public var wardId: String?
    public var staffId: String?
    public var disabled: Bool
    /// Set while repeated failed logins lock the account out on this node (``LoginGuard``).
    public var lockedUntil: String? = nil
}

/// A logged-in session: a random bearer token, stored only as its hash, valid until `expiresAt`.
public struct Session: Codable, Sendable {
    public var token: String
    public var user: UserAccount
    public var expiresAt: String
}

extension CRM.Accounts {
    /// How long a session lasts without being renewed.
    public static let sessionLifetime: TimeInterval = 8 * 3600

    /// Creates or replaces an account (admin only). User names are the key: the same name created
    /// on two nodes is one account.
    public func saveUser(
        _ caller: Caller, username: String, displayName: String, role: Role, password: String?,
        wardId: String? = nil, staffId: String? = nil, disabled: Bool = false
    ) async throws {
        if caller != .system { try caller.require(.admin) }
        let name = username.lowercased()
        guard ASCIIIdentifier(letters: .lowercase, punctuation: "._-", length: 2...32).admits(name) else {
            throw CRMError.invalid("username must be 2–32 of a-z, 0-9, '.', '_' or '-'")
        }
        guard !displayName.isEmpty, displayName.count <= 64 else { throw CRMError.invalid("displayName must be 1–64 characters") }
        if let password, password.count < 8 || password.count > 128 { throw CRMError.invalid("password must be 8–128 characters") }
        // A ward gateway holds the accounts of its wards (their password hashes included): only
        // bedside visitors belong to a ward, and every visitor to one.
        if role == .visitor, wardId?.isEmpty ?? true { throw CRMError.unprocessable("a bedside visitor needs a ward") }
        if role != .visitor, wardId != nil { throw CRMError.unprocessable("only bedside visitors belong to a ward") }
        var passwordHash: String?
        if let password { passwordHash = try await PasswordHasher.hash(password, strength: crm.passwordStrength) }
        let record = UserRecord(
            id: name, displayName: displayName, role: role.rawValue, passwordHash: passwordHash, wardId: wardId, staffId: staffId,
            disabled: disabled ? 1 : 0)
        try await change(caller, "user.save", "appUser") { [passwordHash] tx in
            guard try passwordHash != nil || tx.rowExists("appUser", id: name) else { throw CRMError.unprocessable("a new user needs a password") }
            try tx.upsert(record)
            return ((), name)
        }
        // A new password, set by an administrator, lifts a lockout.
        if passwordHash != nil { try await replica.writeLocal { db in try LoginGuard.clear(username: name, db) } }
    }

    /// Every account, passwords left out.
    public func users(_ caller: Caller) async throws -> [UserAccount] {
        try caller.require(.admin)
        let moment = now()
        let time = self.time
        return try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM appUser ORDER BY id").map { row in
                var account = Self.account(row)
                account.lockedUntil = try LoginGuard.lockedUntil(username: account.id, now: moment, db).map(time.timestamp)
                return account
            }
        }
    }

    static func account(_ row: Row) -> UserAccount {
        UserAccount(
            id: row["id"], displayName: row["displayName"] ?? "", role: Role(rawValue: row["role"] ?? "") ?? .visitor,
            wardId: row["wardId"], staffId: row["staffId"], disabled: (row["disabled"] as Int?) == 1)
    }

    /// Checks a password and opens a session. An unknown user, a wrong password and a disabled
    /// account get the same answer after the same work (a password hash is always checked); failed
    /// attempts are throttled per user name and per client `address` (``LoginGuard``); logins and
    /// failed logins are audited (the user name, never the password).
    public func login(username: String, password: String, address: String? = nil) async throws -> Session {
        let name = String(username.lowercased().prefix(64))
        let keys = LoginGuard.keys(username: name, address: address)
        // Not audited one by one: refused attempts cost nothing to send, and each audit entry is a
        // replicated commit. The failures that led here are.
        try await admit(keys, "too many failed logins; try again later")
        let stored = try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM appUser WHERE id = ?", arguments: [name]).map { (Self.account($0), $0["passwordHash"] as String?) }
        }
        var hash = stored?.1
        if hash == nil { hash = await PasswordHasher.dummyHash(strength: crm.passwordStrength) }
        let verified = await PasswordHasher.verify(password, hash: hash ?? "")
        guard let (user, _) = stored, stored?.1 != nil, verified, !user.disabled else {
            try await audit(Caller(userId: name, role: .visitor), "login.failed")
            throw CRMError(.unauthenticated, "wrong user name or password")
        }
        try await replica.writeLocal { db in try LoginGuard.succeeded(keys, db) }
        try await audit(Caller(userId: user.id, role: user.role, wardId: user.wardId), "login")
        let token = Sodium.randomBytes(32).map { String($0, radix: 16).leftPadded(2) }.joined()
        let expires = time.timestamp(now().addingTimeInterval(Self.sessionLifetime))
        try await replica.writeLocal { db in
            try db.execute(sql: "DELETE FROM crm_session WHERE expiresAt < ?", arguments: [timestamp()])
            try db.execute(
                sql: "INSERT INTO crm_session (tokenHash, userId, role, createdAt, expiresAt) VALUES (?, ?, ?, ?, ?)",
                arguments: [Self.tokenHash(token), user.id, user.role.rawValue, timestamp(), expires])
        }
        return Session(token: token, user: user, expiresAt: expires)
    }

    /// Lets a password check through the ``LoginGuard``, or refuses it (`throttled`).
    private func admit(_ keys: [String], _ refusal: String) async throws {
        let moment = now()
        guard try await replica.writeLocal({ db in try LoginGuard.admit(keys, now: moment, db) }) else { throw CRMError(.throttled, refusal) }
    }

    /// An audit entry for an event on an account (logins).
    private func audit(_ caller: Caller, _ action: String) async throws {
        try await crm.auditEvent(caller, action, "appUser", caller.userId)
    }

    /// The caller a bearer token stands for; expired, unknown and disabled are all "log in again".
    public func authenticate(token: String) async throws -> Caller {
        guard token.count == 64 else { throw CRMError(.unauthenticated, "log in first") }
        let found = try await read { db -> (expiresAt: String, user: UserAccount)? in
            guard let session = try Row.fetchOne(db, sql: "SELECT * FROM crm_session WHERE tokenHash = ?", arguments: [Self.tokenHash(token)]),
                let user = try Row.fetchOne(db, sql: "SELECT * FROM appUser WHERE id = ?", arguments: [session["userId"] as String])
            else { return nil }
            return (session["expiresAt"], Self.account(user))
        }
        guard let (expiresAt, user) = found else { throw CRMError(.unauthenticated, "log in first") }
        guard let expires = time.parseTimestamp(expiresAt), expires > now() else {
            throw CRMError(.unauthenticated, "the session expired; log in again")
        }
        guard !user.disabled else { throw CRMError(.unauthenticated, "this account is disabled") }
        return Caller(userId: user.id, role: user.role, wardId: user.wardId)
    }

    /// Ends a session.
    public func logout(token: String) async throws {
        try await replica.writeLocal { db in try db.execute(sql: "DELETE FROM crm_session WHERE tokenHash = ?", arguments: [Self.tokenHash(token)]) }
    }

    /// Changes the caller's own password after checking the old one.
    public func changePassword(_ caller: Caller, old: String, new: String, keepingSession token: String? = nil) async throws {
        // Guessing the old password through this form is throttled like logging in.
        let keys = LoginGuard.keys(username: caller.userId, address: nil)
        try await admit(keys, "too many failed attempts; try again later")
        let hash = try await read { db in try String.fetchOne(db, sql: "SELECT passwordHash FROM appUser WHERE id = ?", arguments: [caller.userId]) }
        guard let hash, await PasswordHasher.verify(old, hash: hash) else { throw CRMError(.forbidden, "the old password is wrong") }
        try await replica.writeLocal { db in try LoginGuard.succeeded(keys, db) }
        guard new.count >= 8, new.count <= 128 else { throw CRMError.invalid("password must be 8–128 characters") }
        let newHash = try await PasswordHasher.hash(new, strength: crm.passwordStrength)
        try await change(caller, "user.password", "appUser") { tx in
            try tx.update(UserRecord.self, id: caller.userId, [.passwordHash: newHash])
            return ((), caller.userId)
        }
        // The user's other sessions on this node end (a password changed because it leaked).
        let kept = token.map(Self.tokenHash) ?? ""
        try await replica.writeLocal { db in
            try db.execute(sql: "DELETE FROM crm_session WHERE userId = ? AND tokenHash != ?", arguments: [caller.userId, kept])
        }
    }

    static func tokenHash(_ token: String) -> String {
        Sodium.hexHash(token)
    }
}

extension CRM.Accounts {
    /// The active agents and managers, by user name: who a call may be given to.
    public func assignees(_ caller: Caller) async throws -> [UserAccount] {
        try caller.require(.agent, .manager, .admin)
        return try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM appUser WHERE role IN ('agent', 'manager') AND disabled IS NOT 1 ORDER BY id").map(Self.account)
        }
    }
}
