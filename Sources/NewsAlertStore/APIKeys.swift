import Crypto
import Foundation
import GRDB

/// Who may call the newsroom API: editors publish and correct, admins also manage subscribers.
public enum APIRole: String, Codable, Sendable, CaseIterable {
    case editor, admin
}

/// An authenticated caller.
public struct APIPrincipal: Sendable, Hashable {
    public var keyID: String
    public var role: APIRole
    /// Who holds the key, as people see it in the console and in decisions (the key id when unnamed).
    public var displayName: String

    public init(keyID: String, role: APIRole, displayName: String? = nil) {
        self.keyID = keyID
        self.role = role
        self.displayName = displayName ?? keyID
    }
}

/// A newly created API key. `secret` is shown once; only its SHA-256 is stored.
public struct CreatedAPIKey: Sendable {
    public var id: String
    public var role: APIRole
    public var secret: String
}

extension AppDatabase {
    /// Creates a key: `nak_` + 32 random bytes (base64url). The database keeps only the hash.
    public func createAPIKey(role: APIRole, label: String? = nil, displayName: String? = nil) throws -> CreatedAPIKey {
        let secret = "nak_" + Self.randomSecret()
        let id = "key_" + String(Self.hash(secret).prefix(12))
        try writer.write { db in
            try db.execute(
                sql: "INSERT INTO api_key (id, role, secret_hash, label, display_name, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [id, role.rawValue, Self.hash(secret), label, displayName, Date()])
        }
        return CreatedAPIKey(id: id, role: role, secret: secret)
    }

    /// The principal for a presented secret, or `nil` if it is unknown or revoked.
    public func authenticate(secret: String) async throws -> APIPrincipal? {
        let hash = Self.hash(secret)
        return try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT id, role, display_name, label FROM api_key WHERE secret_hash = ? AND revoked_at IS NULL", arguments: [hash])
                .flatMap { row in
                    APIRole(rawValue: row["role"]).map { APIPrincipal(keyID: row["id"], role: $0, displayName: row["display_name"] ?? row["label"]) }
                }
        }
    }

    static func hash(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

extension Data {
    /// Base64 with the URL-safe alphabet and no padding.
    var base64URLEncoded: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

/// An API key as admins see it: never its secret.
public struct APIKeyInfo: Codable, Sendable, Hashable {
    public var id: String
    public var role: APIRole
    public var displayName: String?
    public var label: String?
    public var createdAt: Date
    public var revokedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, role
        case displayName = "display_name"
        case label
        case createdAt = "created_at"
        case revokedAt = "revoked_at"
    }
}

extension AppDatabase {
    /// Creates a key (see `createAPIKey(role:label:displayName:)`) without blocking the caller's thread.
    public func issueAPIKey(role: APIRole, displayName: String) async throws -> CreatedAPIKey {
        let secret = "nak_" + Self.randomSecret()
        let id = "key_" + String(Self.hash(secret).prefix(12))
        try await writer.write { db in
            try db.execute(
                sql: "INSERT INTO api_key (id, role, secret_hash, display_name, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [id, role.rawValue, Self.hash(secret), displayName, Date()])
        }
        return CreatedAPIKey(id: id, role: role, secret: secret)
    }

    /// Every key, newest first, revoked ones included.
    public func apiKeys() async throws -> [APIKeyInfo] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT id, role, display_name, label, created_at, revoked_at FROM api_key ORDER BY created_at DESC, id").compactMap { row in
                APIRole(rawValue: row["role"]).map {
                    APIKeyInfo(id: row["id"], role: $0, displayName: row["display_name"], label: row["label"], createdAt: row["created_at"], revokedAt: row["revoked_at"])
                }
            }
        }
    }

    /// Revokes a key: it stops authenticating at once. Nil when no such key exists; a revoked key stays revoked.
    public func revokeAPIKey(id: String, at now: Date) async throws -> APIKeyInfo? {
        try await writer.write { db in
            try db.execute(sql: "UPDATE api_key SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?", arguments: [now, id])
            return try Row.fetchOne(db, sql: "SELECT id, role, display_name, label, created_at, revoked_at FROM api_key WHERE id = ?", arguments: [id]).flatMap { row in
                APIRole(rawValue: row["role"]).map {
                    APIKeyInfo(id: row["id"], role: $0, displayName: row["display_name"], label: row["label"], createdAt: row["created_at"], revokedAt: row["revoked_at"])
                }
            }
        }
    }
}
