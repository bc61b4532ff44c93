import Foundation
import Hummingbird
import NewsAlertStore

/// The caller's own key, and admin routes for the newsroom's API keys: list, create (the secret is answered once), revoke.
public struct KeyRoutes: Sendable {
    let database: AppDatabase

    public init(database: AppDatabase) {
        self.database = database
    }

    struct KeyPage: Encodable {
        var keys: [APIKeyInfo]
    }

    /// A new key: the only answer that carries its secret.
    struct CreatedKey: Encodable {
        var key: APIKeyInfo
        var secret: String

        enum CodingKeys: String, CodingKey { case secret }

        func encode(to encoder: any Encoder) throws {
            try key.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(secret, forKey: .secret)
        }
    }

    /// The caller's own key.
    struct Me: Encodable {
        var id: String
        var role: APIRole
        var displayName: String

        enum CodingKeys: String, CodingKey {
            case id, role
            case displayName = "display_name"
        }
    }

    public func add(to router: some RouterMethods<NewsAlertRequestContext>) {
        router.get("/v1/me") { _, context in
            let principal = try context.require(.editor, .admin)
            return try Response.json(status: .ok, Me(id: principal.keyID, role: principal.role, displayName: principal.displayName))
        }
        router.get("/v1/keys") { _, context in
            _ = try context.require(.admin)
            return try Response.json(status: .ok, KeyPage(keys: try await database.apiKeys()))
        }
        router.post("/v1/keys") { request, context in
            _ = try context.require(.admin)
            var fields = RequestFields(try await JSONRequestBody.read(request, limit: 4096).object, allowed: ["role", "name"])
            let name = fields.text("name", required: true, maxLength: 100)
            let role = fields.text("role", required: false, maxLength: 10).map { text in
                APIRole(rawValue: text) ?? { fields.report("role", "must be editor or admin"); return .editor }()
            } ?? .editor
            try fields.check()
            let created = try await database.issueAPIKey(role: role, displayName: name!)
            guard let info = try await database.apiKeys().first(where: { $0.id == created.id }) else { throw APIError.notFound("key") }
            return try Response.json(status: .created, CreatedKey(key: info, secret: created.secret))
        }
        router.post("/v1/keys/{id}/revoke") { _, context in
            let admin = try context.require(.admin)
            let id = try context.parameters.require("id")
            guard id.hasPrefix("key_"), id.count <= 64 else { throw APIError.notFound("key") }
            guard id != admin.keyID else {
                throw APIError(.conflict, code: "own_key", message: "an admin cannot revoke the key it is signed in with; use another admin key")
            }
            guard let revoked = try await database.revokeAPIKey(id: id, at: Date()) else { throw APIError.notFound("key") }
            return try Response.json(status: .ok, revoked)
        }
    }
}
