import Foundation
import Hummingbird
import NewsAlertCore
import NewsAlertStore

/// Admin routes: create, list, disable and enable subscribers, and issue their tokens.
public struct SubscriberRoutes: Sendable {
    let database: AppDatabase

    public init(database: AppDatabase) {
        self.database = database
    }

    struct SubscriberPage: Encodable {
        var subscribers: [Subscriber]
    }

    struct TokenView: Encodable {
        var tokenID: String
        var subscriberID: String
        var token: String

        enum CodingKeys: String, CodingKey {
            case tokenID = "token_id"
            case subscriberID = "subscriber_id"
            case token
        }
    }

    public func add(to router: some RouterMethods<NewsAlertRequestContext>) {
        router.post("/v1/subscribers") { request, context in
            _ = try context.require(.admin)
            let body = try await JSONRequestBody.read(request, limit: 16 * 1024)
            var fields = RequestFields(body.object, allowed: ["name", "time_zone", "budget"])
            let name = fields.text("name", required: true)
            let zone = fields.text("time_zone", required: false, maxLength: 64) ?? "UTC"
            if TimeZone(identifier: zone) == nil {
                fields.report("time_zone", "must be an IANA time zone such as Europe/Berlin (got '\(zone)')")
            }
            let budget = fields.decoded("budget", as: Budget.self, required: false) ?? .unlimited
            do throws(ValidationFailure) { try budget.validate() } catch { error.problems.forEach { fields.report($0.field, $0.problem) } }
            try fields.check()
            let subscriber = try await database.createSubscriber(name: name ?? "", timeZone: zone, budget: budget)
            return try Response.json(status: .created, subscriber)
        }
        router.get("/v1/subscribers") { request, context in
            _ = try context.require(.admin)
            let limit = try PageLimit.read(request, default: 100, max: 1000)
            return try Response.json(status: .ok, SubscriberPage(subscribers: try await database.subscribers(limit: limit)))
        }
        router.get("/v1/subscribers/{id}") { _, context in
            _ = try context.require(.admin)
            guard let subscriber = try await database.subscriber(id: try subscriberID(context)) else { throw APIError.notFound("subscriber") }
            return try Response.json(status: .ok, subscriber)
        }
        for (action, status) in [("disable", Subscriber.Status.disabled), ("enable", .active)] {
            router.post("/v1/subscribers/{id}/\(action)") { _, context in
                _ = try context.require(.admin)
                return try Response.json(status: .ok, try await database.setSubscriberStatus(id: try subscriberID(context), status: status))
            }
        }
        router.post("/v1/subscribers/{id}/tokens") { _, context in
            _ = try context.require(.admin)
            let issued = try await database.issueSubscriberToken(subscriberID: try subscriberID(context))
            return try Response.json(status: .created, TokenView(tokenID: issued.id, subscriberID: issued.subscriberID, token: issued.token))
        }
    }

    private func subscriberID(_ context: NewsAlertRequestContext) throws -> String {
        let id = try context.parameters.require("id")
        guard EntityID.isPlausible(id, prefix: EntityID.subscriberPrefix) else { throw APIError.notFound("subscriber") }
        return id
    }
}

/// The `limit` query parameter of list endpoints.
enum PageLimit {
    static func read(_ request: Request, default defaultLimit: Int, max: Int) throws -> Int {
        guard let text = request.uri.queryParameters.get("limit") else { return defaultLimit }
        guard let limit = Int(text), (1...max).contains(limit) else {
            throw APIError.invalidFields(ValidationFailure([FieldProblem(field: "limit", problem: "must be an integer from 1 to \(max)")]))
        }
        return limit
    }
}
