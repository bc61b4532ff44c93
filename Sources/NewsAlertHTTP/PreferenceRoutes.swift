import Foundation
import Hummingbird
import NewsAlertCore
import NewsAlertStore

/// The preference centre, reached by the signed link in every alert email (no password): `GET /v1/preferences`
/// (topics, delivery, pause, recent alerts), `PUT /v1/preferences` (new topics and delivery), `POST
/// /v1/preferences/pause` `{"days"}` (0 resumes), `GET /v1/preferences/export` (everything kept about the
/// subscriber, JSON), `POST /v1/preferences/erase` (deleted; the delivery log keeps only anonymised entries).
/// Every route takes the link's `subscriber`, `expires` and `token`; a wrong link is 404, an expired one 410.
public struct PreferenceRoutes: Sendable {
    let database: AppDatabase
    let links: SignedLinks

    public init(database: AppDatabase, links: SignedLinks) {
        self.database = database
        self.links = links
    }

    struct Topics: Encodable {
        var sections: [String] = []
        var regions: [String] = []
        var countries: [String] = []
        var keywords: [String] = []
    }

    struct RecentAlert: Encodable {
        var headline: String
        var type: String
        var channel: String
        var state: String
        var at: Date
    }

    struct View: Encodable {
        var subscriberID: String
        var timeZone: String
        var emails: [String]
        var topics: Topics
        var delivery: SubscriptionRule.DeliverySpec?
        var quietHours: SubscriptionRule.QuietHoursSpec?
        var pausedUntil: Date?
        var recentAlerts: [RecentAlert]

        enum CodingKeys: String, CodingKey {
            case subscriberID = "subscriber_id"
            case timeZone = "time_zone"
            case emails, topics, delivery
            case quietHours = "quiet_hours"
            case pausedUntil = "paused_until"
            case recentAlerts = "recent_alerts"
        }
    }

    struct Export: Encodable {
        var subscriber: Subscriber
        var channels: [DeliveryChannel]
        var subscriptions: [Subscription]
        var pausedUntil: Date?
        var deliveries: [DeliveryRecord]

        enum CodingKeys: String, CodingKey {
            case subscriber, channels, subscriptions
            case pausedUntil = "paused_until"
            case deliveries
        }
    }

    public func add(to router: some RouterMethods<NewsAlertRequestContext>) {
        router.get("/v1/preferences") { request, _ in
            let id = try verifiedSubscriber(request)
            return try Response.json(status: .ok, try await view(id))
        }
        router.put("/v1/preferences") { request, _ in
            let id = try verifiedSubscriber(request)
            let body = try await JSONRequestBody.read(request, limit: 4096)
            var fields = RequestFields(body.object, allowed: ["time_zone", "topics", "delivery", "quiet_hours"])
            let zone = fields.text("time_zone", required: true, maxLength: 64)
            if let zone, TimeZone(identifier: zone) == nil { fields.report("time_zone", "must be an IANA time zone such as Europe/Berlin") }
            let rules = SignupRoutes.rules(body.object, timeZone: zone, into: &fields)
            try fields.check()
            try await database.updatePreferences(subscriberID: id, timeZone: zone!, rules: rules)
            return try Response.json(status: .ok, try await view(id))
        }
        router.post("/v1/preferences/pause") { request, _ in
            let id = try verifiedSubscriber(request)
            let body = try await JSONRequestBody.read(request, limit: 1024)
            var fields = RequestFields(body.object, allowed: ["days"])
            let days = body.object["days"] as? Int
            if days == nil || !(0...90).contains(days!) { fields.report("days", "must be a whole number of days from 0 (resume now) to 90") }
            try fields.check()
            try await database.pause(subscriberID: id, until: days! == 0 ? nil : Date().addingTimeInterval(Double(days!) * 86_400))
            return try Response.json(status: .ok, try await view(id))
        }
        router.get("/v1/preferences/export") { request, _ in
            let id = try verifiedSubscriber(request)
            guard let profile = try await database.profile(subscriberID: id) else { throw Self.badLink }
            let export = Export(
                subscriber: profile.subscriber, channels: profile.channels.map { var channel = $0; channel.secrets = []; return channel },
                subscriptions: profile.subscriptions, pausedUntil: profile.pausedUntil,
                deliveries: try await database.deliveries(subscriberID: id, limit: 10_000))
            var response = try Response.json(status: .ok, export)
            response.headers[.contentDisposition] = "attachment; filename=\"newsalert-\(id).json\""
            return response
        }
        router.post("/v1/preferences/erase") { request, _ in
            let id = try verifiedSubscriber(request)
            try await database.erase(subscriberID: id)
            return try Response.json(status: .ok, ["status": "erased"])
        }
    }

    private func view(_ id: String) async throws -> View {
        guard let profile = try await database.profile(subscriberID: id) else { throw Self.badLink }
        var topics = Topics()
        for subscription in profile.subscriptions {
            topics.sections += subscription.rule.sections ?? []
            topics.regions += subscription.rule.regions ?? []
            topics.countries += subscription.rule.countries ?? []
            if let keywords = subscription.rule.keywords { topics.keywords.append(keywords) }
        }
        let recent = try await database.deliveries(subscriberID: id, limit: 20).map {
            RecentAlert(headline: $0.alert.event.headline, type: $0.alert.type.rawValue, channel: $0.channel, state: $0.state.rawValue, at: $0.createdAt)
        }
        return View(
            subscriberID: id, timeZone: profile.subscriber.timeZone, emails: profile.channels.filter { $0.kind == .email }.map(\.target),
            topics: topics, delivery: profile.subscriptions.first?.rule.delivery, quietHours: profile.subscriptions.first?.rule.quietHours,
            pausedUntil: profile.pausedUntil, recentAlerts: recent)
    }

    static let badLink = APIError(.notFound, code: "bad_link", message: "this preference link is not valid: open the link from your latest alert email")

    private func verifiedSubscriber(_ request: Request) throws -> String {
        let query = request.uri.queryParameters
        guard let id = query.get("subscriber"), let expires = query.get("expires"), let token = query.get("token"),
              EntityID.isPlausible(id, prefix: EntityID.subscriberPrefix) else {
            throw APIError(.badRequest, code: "bad_link", message: "a preference link needs subscriber, expires and token")
        }
        switch links.verify(.preferences, subject: id, expiresText: expires, signature: token) {
        case .success: return id
        case .failure(.expired): throw APIError(.gone, code: "link_expired", message: "this preference link expired: use the link in a newer alert email")
        case .failure: throw Self.badLink
        }
    }
}
