import Hummingbird
import NewsAlertCore

/// `/healthz` (the process answers), `/readyz` (it can reach Kafka, and nothing keeps it out of service; records
/// its consumers lost are reported) and `/metrics` (Prometheus text format).
public struct HealthRoutes: Sendable {
    let publisher: any NewsEventPublisher
    let health: NodeHealth
    let metrics: @Sendable () -> String

    public init(publisher: any NewsEventPublisher, health: NodeHealth = NodeHealth(), metrics: @escaping @Sendable () -> String = { "" }) {
        self.publisher = publisher
        self.health = health
        self.metrics = metrics
    }

    struct Readiness: Encodable {
        var status: String
        var kafka: String
        var recordsLost: Int64
        var losses: [String]?
        var reasons: [String]?

        enum CodingKeys: String, CodingKey {
            case status, kafka, losses, reasons
            case recordsLost = "records_lost"
        }
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
            let reachable = await publisher.isReachable()
            let snapshot = health.snapshot
            let ready = reachable && snapshot.blockers.isEmpty
            let readiness = Readiness(
                status: ready ? "ready" : "not_ready", kafka: reachable ? "reachable" : "unreachable", recordsLost: snapshot.recordsLost,
                losses: snapshot.losses.isEmpty ? nil : snapshot.losses,
                reasons: snapshot.blockers.isEmpty ? nil : snapshot.blockers.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" })
            return try Response.json(status: ready ? .ok : .serviceUnavailable, readiness)
        }
    }
}
