import Foundation
import Hummingbird
import NewsAlertCore
import NewsAlertStore

/// A subscriber's own delivery channels (subscriber token): webhook endpoints, email addresses, the ticker.
public struct ChannelRoutes: Sendable {
    let database: AppDatabase
    let webhooks: any WebhookEndpointPolicy

    public init(database: AppDatabase, webhooks: any WebhookEndpointPolicy) {
        self.database = database
        self.webhooks = webhooks
    }

    /// A channel as the API shows it: secrets only as a hint, except right after creation or rotation.
    struct ChannelView: Encodable {
        var channel: DeliveryChannel
        var revealSecret: Bool

        enum CodingKeys: String, CodingKey {
            case id, kind, target, status
            case disabledReason = "disabled_reason"
            case confirmation, consent
            case secret
            case secretHints = "secret_hints"
            case version
            case changedAt = "changed_at"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(channel.id, forKey: .id)
            try container.encode(channel.kind, forKey: .kind)
            try container.encode(channel.target, forKey: .target)
            try container.encode(channel.status, forKey: .status)
            try container.encode(channel.disabledReason, forKey: .disabledReason)
            if channel.kind == .email {
                // `pending` until the address's owner opens the confirmation link: no alert goes there before.
                try container.encode(channel.consent == nil ? "pending" : "confirmed", forKey: .confirmation)
                try container.encode(channel.consent, forKey: .consent)
            }
            if revealSecret, let secret = channel.secrets.first { try container.encode(secret, forKey: .secret) }
            try container.encode(channel.secrets.map { String($0.prefix(10)) + "…" }, forKey: .secretHints)
            try container.encode(channel.version, forKey: .version)
            try container.encode(channel.changedAt, forKey: .changedAt)
        }
    }

    struct ChannelPage: Encodable {
        var channels: [ChannelView]
    }

    public func add(to router: some RouterMethods<NewsAlertRequestContext>) {
        router.get("/v1/channels") { _, context in
            let owner = try context.requireSubscriber()
            let channels = try await database.channels(of: owner).map { ChannelView(channel: $0, revealSecret: false) }
            return try Response.json(status: .ok, ChannelPage(channels: channels))
        }
        router.post("/v1/channels") { request, context in
            let owner = try context.requireSubscriber()
            let body = try await JSONRequestBody.read(request, limit: 16 * 1024)
            var fields = RequestFields(body.object, allowed: ["kind", "url", "address"])
            let kindText = fields.text("kind", required: true)
            let kind = kindText.flatMap(DeliveryChannel.Kind.init(rawValue:))
            if kindText != nil, kind == nil { fields.report("kind", "must be webhook, email or ticker") }
            var target = ""
            var secrets: [String] = []
            switch kind {
            case .webhook:
                if let url = fields.text("url", required: true, maxLength: 2048) {
                    if let problem = await webhooks.problem(with: url) { fields.report("url", problem) }
                    target = url
                }
                secrets = [webhooks.newSecret()]
            case .email:
                if let address = fields.text("address", required: true, maxLength: 254) {
                    if !EmailAddress.isPlausible(address) { fields.report("address", "must be an email address like desk@example.com") }
                    target = address
                }
            case .ticker, nil:
                break
            }
            try fields.check()
            let channel = try await database.createChannel(subscriberID: owner, kind: kind!, target: target, secrets: secrets)
            return try Response.json(status: .created, ChannelView(channel: channel, revealSecret: true))
        }
        router.post("/v1/subscribers/{id}/channels") { request, context in
            // An admin's import of an address whose owner already agreed elsewhere: when and how is recorded.
            _ = try context.require(.admin)
            let id = try context.parameters.require("id")
            guard EntityID.isPlausible(id, prefix: EntityID.subscriberPrefix) else { throw APIError.notFound("subscriber") }
            let body = try await JSONRequestBody.read(request, limit: 16 * 1024)
            var fields = RequestFields(body.object, allowed: ["kind", "address", "consent"])
            if let kind = fields.text("kind", required: true), kind != "email" {
                fields.report("kind", "must be email: admins import email addresses with their consent; other channels are added with the subscriber's token")
            }
            let address = fields.text("address", required: true, maxLength: 254)
            if let address, !EmailAddress.isPlausible(address) { fields.report("address", "must be an email address like desk@example.com") }
            let consent = fields.decoded("consent", as: DeliveryChannel.Consent.self, required: true)
            if let consent {
                if consent.source.trimmingCharacters(in: .whitespaces).isEmpty || consent.source.count > 200 {
                    fields.report("consent.source", "must say how the owner agreed, in 1 to 200 characters")
                }
                if consent.confirmedAt > Date().addingTimeInterval(300) { fields.report("consent.confirmed_at", "must not be in the future") }
            }
            try fields.check()
            let channel = try await database.createChannel(subscriberID: id, kind: .email, target: address!, secrets: [], consent: consent)
            return try Response.json(status: .created, ChannelView(channel: channel, revealSecret: false))
        }
        router.post("/v1/channels/{id}/rotate-secret") { _, context in
            let owner = try context.requireSubscriber()
            let id = try channelID(context)
            guard let current = try await database.channel(id: id), current.subscriberID == owner else { throw APIError.notFound("channel") }
            guard current.kind == .webhook else {
                throw APIError(.unprocessableContent, code: "not_a_webhook", message: "only webhook channels have signing secrets")
            }
            // The new secret signs first; the previous one keeps signing until the next rotation.
            let fresh = webhooks.newSecret()
            let rotated = try await database.updateChannel(id: id, subscriberID: owner) { channel in
                channel.secrets = [fresh] + channel.secrets.prefix(1)
            }
            return try Response.json(status: .ok, ChannelView(channel: rotated, revealSecret: true))
        }
        router.delete("/v1/channels/{id}") { _, context in
            let owner = try context.requireSubscriber()
            guard try await database.deleteChannel(id: try channelID(context), subscriberID: owner) else { throw APIError.notFound("channel") }
            return Response(status: .noContent)
        }
    }

    private func channelID(_ context: NewsAlertRequestContext) throws -> String {
        let id = try context.parameters.require("id")
        guard EntityID.isPlausible(id, prefix: EntityID.channelPrefix) else { throw APIError.notFound("channel") }
        return id
    }
}

/// A cheap syntactic check of an email address: one @, a dotted domain, no spaces, quotes or line breaks.
enum EmailAddress {
    static func isPlausible(_ address: String) -> Bool {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, let local = parts.first, let domain = parts.last, !local.isEmpty, local.count <= 64,
              domain.contains("."), !domain.hasPrefix("."), !domain.hasSuffix(".") else { return false }
        return address.unicodeScalars.allSatisfy { !CharacterSet.whitespacesAndNewlines.contains($0) && !"<>\"(),;:[]\\".unicodeScalars.contains($0) && $0.value >= 0x20 }
    }
}
