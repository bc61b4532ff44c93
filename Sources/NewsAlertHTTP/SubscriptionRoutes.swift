import Foundation
import Hummingbird
import NewsAlertCore
import NewsAlertStore

/// A subscriber's own rules (subscriber token): list, create, read, change, delete, and preview.
///
/// Another subscriber's subscription answers 404, exactly like one that does not exist.
public struct SubscriptionRoutes: Sendable {
    let database: AppDatabase

    public init(database: AppDatabase) {
        self.database = database
    }

    struct SubscriptionPage: Encodable {
        var subscriptions: [Subscription]
    }

    public func add(to router: some RouterMethods<NewsAlertRequestContext>) {
        router.get("/v1/subscriptions") { _, context in
            let owner = try context.requireSubscriber()
            return try Response.json(status: .ok, SubscriptionPage(subscriptions: try await database.subscriptions(of: owner)))
        }
        router.post("/v1/subscriptions") { request, context in
            let owner = try context.requireSubscriber()
            var fields = try await Self.fields(request, allowed: ["name", "rule"])
            let name = fields.text("name", required: false)
            let rule = try await validRule(&fields, required: true, owner: owner)
            try fields.check()
            let created = try await database.createSubscription(subscriberID: owner, name: name, rule: rule!)
            return try Response.json(status: .created, created)
        }
        router.post("/v1/subscriptions/preview") { request, context in
            let owner = try context.requireSubscriber()
            var fields = try await Self.fields(request, allowed: ["rule", "limit"])
            let limit = fields.object["limit"].map { $0 as? Int ?? -1 } ?? 500
            if !(1...AppDatabase.recentEnrichedCapacity).contains(limit) {
                fields.report("limit", "must be an integer from 1 to \(AppDatabase.recentEnrichedCapacity)")
            }
            guard let subscriber = try await database.subscriber(id: owner) else { throw APIError.notFound("subscriber") }
            let rule = fields.decoded("rule", as: SubscriptionRule.self, required: true)
            let validated = rule.flatMap { validate($0, timeZone: subscriber.timeZone, into: &fields) }
            try fields.check()
            let events = try await database.recentEnriched(limit: limit)
            return try Response.json(status: .ok, RulePreview(rule: validated!, budget: subscriber.budget, events: events))
        }
        router.get("/v1/subscriptions/{id}") { _, context in
            let owner = try context.requireSubscriber()
            guard let subscription = try await database.subscription(id: try subscriptionID(context), subscriberID: owner) else {
                throw APIError.notFound("subscription")
            }
            return try Response.json(status: .ok, subscription)
        }
        router.patch("/v1/subscriptions/{id}") { request, context in
            let owner = try context.requireSubscriber()
            let id = try subscriptionID(context)
            var fields = try await Self.fields(request, allowed: ["name", "rule", "status"])
            let name = fields.text("name", required: false)
            let rule = try await validRule(&fields, required: false, owner: owner)
            let status = fields.text("status", required: false).map { text in
                Subscription.Status(rawValue: text) ?? { fields.report("status", "must be active or disabled"); return .active }()
            }
            try fields.check()
            let updated = try await database.updateSubscription(id: id, subscriberID: owner) { subscription in
                if let name { subscription.name = name }
                if let rule { subscription.rule = rule }
                if let status { subscription.status = status }
            }
            return try Response.json(status: .ok, updated)
        }
        router.delete("/v1/subscriptions/{id}") { _, context in
            let owner = try context.requireSubscriber()
            guard try await database.deleteSubscription(id: try subscriptionID(context), subscriberID: owner) else { throw APIError.notFound("subscription") }
            return Response(status: .noContent)
        }
    }

    private static func fields(_ request: Request, allowed: Set<String>) async throws -> RequestFields {
        RequestFields(try await JSONRequestBody.read(request, limit: 64 * 1024).object, allowed: allowed)
    }

    /// The `rule` field, checked in the subscriber's time zone and against the subscriber's channels.
    private func validRule(_ fields: inout RequestFields, required: Bool, owner: String) async throws -> SubscriptionRule? {
        guard let rule = fields.decoded("rule", as: SubscriptionRule.self, required: required) else { return nil }
        guard let subscriber = try await database.subscriber(id: owner) else { throw APIError.notFound("subscriber") }
        guard let validated = validate(rule, timeZone: subscriber.timeZone, into: &fields) else { return nil }
        let owned = Set(try await database.channels(of: owner).map(\.id))
        for (index, channel) in validated.channels.enumerated() where !owned.contains(channel) {
            fields.report("rule.channels[\(index)]", "is not one of your channels (\(channel)); create it with POST /v1/channels")
        }
        return rule
    }

    private func validate(_ rule: SubscriptionRule, timeZone: String, into fields: inout RequestFields) -> ValidatedRule? {
        do throws(ValidationFailure) {
            return try rule.validate(timeZone: timeZone)
        } catch {
            error.problems.forEach { problem in
                let moved = problem.field == "time_zone"
                    ? FieldProblem(field: "time_zone", problem: "the subscriber's time zone \(problem.problem); an admin must fix it")
                    : problem.prefixed("rule")
                fields.report(moved.field, moved.problem)
            }
            return nil
        }
    }

    private func subscriptionID(_ context: NewsAlertRequestContext) throws -> String {
        let id = try context.parameters.require("id")
        guard EntityID.isPlausible(id, prefix: EntityID.subscriptionPrefix) else { throw APIError.notFound("subscription") }
        return id
    }
}
