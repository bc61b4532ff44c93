import Hummingbird
import NewsAlertCore

/// `/healthz` (the process answers) and `/readyz` (it can reach Kafka).
public struct HealthRoutes: Sendable {
    let publisher: any NewsEventPublisher

    public init(publisher: any NewsEventPublisher) {
        self.publisher = publisher
    }

    public func add(to router: some RouterMethods<NewsAlertRequestContext>) {
        router.get("/healthz") { _, _ in
            try Response.json(status: .ok, ["status": "ok"])
        }
        router.get("/readyz") { _, _ in
            if await publisher.isReachable() {
                return try Response.json(status: .ok, ["status": "ready", "kafka": "reachable"])
            }
            return try Response.json(status: .serviceUnavailable, ["status": "not_ready", "kafka": "unreachable"])
        }
    }
}
