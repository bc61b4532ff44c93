import Foundation
import KafkaBridge
import Logging
import NewsAlertCore
import NewsAlertStore
import ServiceLifecycle

/// Publishes every change of this node's deliveries (state, attempts) to `deliveries.log`, keyed by delivery id,
/// so the nodes that did not make a delivery (the API in a split deployment, the next owner of a handed-back
/// retry) show it too. A change is forgotten only after Kafka acknowledged it.
public struct DeliveryReportPublisher: Service {
    let database: AppDatabase
    let producer: KafkaProducer
    let logger: Logger
    /// Longest pause between two looks at the outbox when no change rang (a safety net; changes ring at once).
    var pollInterval: Duration = .seconds(5)

    public init(database: AppDatabase, producer: KafkaProducer, logger: Logger) {
        self.database = database
        self.producer = producer
        self.logger = logger
    }

    public func run() async throws {
        try await relayOutbox(waitingOn: database.changes(of: "delivery_report_outbox"), atMost: pollInterval) { try await publishPending() }
    }

    /// Publishes the deliveries changed since the last call; returns how many.
    @discardableResult
    public func publishPending() async throws -> Int {
        guard let pending = try await database.pendingDeliveryReports(limit: 500) else { return 0 }
        _ = try await RetryingSend.send(batch: try pending.records.map(PipelineRecord.deliveryReport), with: producer, logger: logger)
        try await database.removeReportedDeliveries(through: pending.through)
        return max(pending.records.count, 1)
    }
}

/// Reads `deliveries.log` from the start with a group of its own and keeps what other nodes reported, so
/// `GET /v1/deliveries` and `GET /v1/events/{id}` on any node show every delivery.
public final class DeliveryReportReplica: Service, Sendable {
    private let database: AppDatabase
    private let consumer: KafkaConsumer
    private let logger: Logger

    public init(kafka: KafkaConfiguration, database: AppDatabase, logger: Logger) throws {
        consumer = try .wholeTopicReader(NewsTopics.deliveryReports, kafka: kafka, groupPrefix: "newsalert-delivery-reports", offAlertPath: true, logger: logger)
        self.database = database
        self.logger = logger
    }

    public func run() async throws {
        try await consumer.untilGracefulShutdown {
            for try await record in consumer.records where !record.isTombstone {
                do {
                    try await database.applyDeliveryReport(try JSONDecoder.newsAlert.decode(DeliveryRecord.self, from: Data(record.value)))
                } catch let error as DecodingError {
                    logger.error("delivery report skipped", metadata: ["kafka.offset": "\(record.offset)", "error": "\(error)"])
                }
            }
        }
    }
}
