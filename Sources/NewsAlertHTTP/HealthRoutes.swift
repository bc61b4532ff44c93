import Hummingbird
import NewsAlertCore

/// `/healthz` (the process answers), `/readyz` (it can reach Kafka) and `/metrics` (Prometheus text format).
public struct HealthRoutes: Sendable {
    let publisher: any NewsEventPublisher
    let metrics: @Sendable () -> String

    public init(publisher: any NewsEventPublisher, metrics: @escaping @Sendable () -> String = { "" }) {
        self.publisher = publisher
        self.metrics = metrics
    }

    public func add(to router: some RouterMethods<NewsAlertRequestContext>) {
        router.get("/healthz") { _, _ in
            try Response.json(status: .ok, ["status": "ok"])
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: metrics())))
        }
        router.get("/readyz") { _, _ in
            if await publisher.isReachable() {
                return try Response.json(status: .ok, ["status": "ready", "kafka": "reachable"])
            }
            return try Response.json(status: .serviceUnavailable, ["status": "not_ready", "kafka": "unreachable"])
        }
    }
}
