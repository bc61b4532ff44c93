import Foundation
import Hummingbird
import NewsAlertCore
import NewsAlertStore

/// Hands a replay to the delivery worker that owns the delivery's subscriber now, for a delivery this node knows
/// only from another node's report.
public protocol DeliveryReplayForwarder: Sendable {
    func forwardReplay(of delivery: DeliveryRecord) async throws
}

/// The delivery log: who got which alert, on which channel, after which attempts; and replays.
public struct DeliveryRoutes: Sendable {
    let database: AppDatabase
    let replays: (any DeliveryReplayForwarder)?

    public init(database: AppDatabase, replays: (any DeliveryReplayForwarder)?) {
        self.database = database
        self.replays = replays
    }

    struct DeliveryPage: Encodable {
        var deliveries: [DeliveryRecord]
    }

    public func add(to router: some RouterMethods<NewsAlertRequestContext>) {
        // Staff see everyone's deliveries (filtered by ?subscriber= or ?event=); a subscriber token sees its own.
        router.get("/v1/deliveries") { request, context in
            let limit = try PageLimit.read(request, default: 100, max: 1000)
            let event = request.uri.queryParameters.get("event")
            var subscriber = request.uri.queryParameters.get("subscriber")
            if context.subscriberID != nil {
                let own = try context.requireSubscriber()
                guard subscriber == nil || subscriber == own else { throw APIError.notFound("subscriber") }
                subscriber = own
            } else {
                _ = try context.require(.editor, .admin)
            }
            return try Response.json(status: .ok, DeliveryPage(deliveries: try await database.deliveries(subscriberID: subscriber, eventID: event, limit: limit)))
        }
        router.get("/v1/deliveries/{id}") { _, context in
            let delivery = try await ownedDelivery(context)
            return try Response.json(status: .ok, delivery)
        }
        // This node's own delivery goes back in its queue. One it knows from another node's report (or handed back
        // to another worker) goes to the worker that owns the subscriber's partition now, by the channel topic.
        router.post("/v1/deliveries/{id}/replay") { _, context in
            let delivery = try await ownedDelivery(context)
            let scheduled = Response.json(status: .accepted, data: try JSONEncoder.newsAlert.encode(["id": delivery.id, "status": "replay scheduled"]))
            if try await database.scheduleReplay(deliveryID: delivery.id) { return scheduled }
            guard delivery.isReplayable else {
                throw APIError(.conflict, code: "not_replayable", message: "delivery \(delivery.id) is \(delivery.state.rawValue); only delivered, failed or dead webhook and email deliveries can be replayed (ticker clients resume by position)")
            }
            let unavailable = APIError.kafkaUnavailable("the replay could not be handed to the delivery worker through Kafka; retry later")
            guard let replays else { throw unavailable }
            do {
                try await replays.forwardReplay(of: delivery)
            } catch {
                throw unavailable
            }
            return scheduled
        }
    }

    /// The delivery, if the caller is staff (editor or admin) or the subscriber it belongs to; 404 otherwise.
    private func ownedDelivery(_ context: NewsAlertRequestContext) async throws -> DeliveryRecord {
        let id = try context.parameters.require("id")
        let owner: String? = context.subscriberID != nil ? try context.requireSubscriber() : nil
        if owner == nil { _ = try context.require(.editor, .admin) }
        guard id.count <= 300, let delivery = try await database.delivery(id: id), owner == nil || delivery.subscriberID == owner else {
            throw APIError.notFound("delivery")
        }
        return delivery
    }
}
