import Foundation
import KafkaBridge
import Logging
import NewsAlertCore
import NewsAlertStore
import ServiceLifecycle

/// The fan-out role: reads `news.enriched`, plans alerts against the subscription catalog, hands each alert to
/// its channel's topic (`alerts.webhook`, `alerts.email`, `alerts.ticker`; key: subscriber id), records the plan,
/// and only then marks the input done. Held alerts are released by the same service when they fall due.
public final class FanoutService: Service, Sendable {
    public struct Configuration: Sendable {
        public var groupID = "newsalert-fanout"
        public var releaseInterval: Duration = .seconds(1)
        public init() {}
    }

    private let consumer: KafkaConsumer
    private let producer: KafkaProducer
    private let database: AppDatabase
    private let replica: SubscriptionReplica
    private let deadLetters: DeadLetterWriter
    private let configuration: Configuration
    private let logger: Logger

    public init(kafka: KafkaConfiguration, producer: KafkaProducer, database: AppDatabase, replica: SubscriptionReplica, configuration: Configuration, logger: Logger) throws {
        var consumerConfiguration = KafkaConsumerConfiguration(kafka: kafka, groupID: configuration.groupID, topics: [NewsTopics.enriched.name])
        consumerConfiguration.maxBatchSize = 100
        consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
        self.producer = producer
        self.database = database
        self.replica = replica
        self.configuration = configuration
        self.logger = logger
        deadLetters = DeadLetterWriter(producer: producer, stage: "fanout", logger: logger)
    }

    public func run() async throws {
        try await replica.waitUntilLoaded()
        try await consumer.processRecords(alongside: { try await self.releaseHeldAlerts() }, logger: logger) { record in
            try await handle(record)
        }
    }

    private func handle(_ record: KafkaRecord) async throws {
        guard let enriched = try await deadLetters.decode(EnrichedEvent.self, from: record, expecting: "an enriched event") else { return }
        try await database.recordRecentEnriched(enriched)
        let delivered = try await database.storyDeliveries(storyID: enriched.story.storyId)
        let catalog = replica.catalog
        let now = Date()
        let plan = try FanoutPlanner.plan(enriched, catalog: catalog, delivered: delivered, recent: { [database] subscriberID in
            try database.recentDeliveriesNow(subscriberID: subscriberID, now: now)
        }, now: now)
        try await send(plan.immediate.filter { $0.channel != .ticker })
        if let item = TickerItem(enriched, audience: plan.immediate.filter { $0.channel == .ticker }.map(\.subscriberID)) {
            // One record per event on the single-partition ticker log: its offset is the item's position everywhere.
            _ = try await RetryingSend.send(try PipelineRecord.tickerItem(item, storyID: enriched.story.storyId), with: producer, logger: logger)
            PipelineMetrics.produced(NewsTopics.tickerAlerts.name)
        }
        try await database.recordFanout(plan, eventID: enriched.event.id)
        PipelineMetrics.fannedOut(plan, matches: Set(plan.immediate.map(\.subscriberID) + plan.held.map(\.subscriberID) + plan.dropped.map(\.alert.subscriberID)).count)
        logger.info("event fanned out", metadata: [
            "event.id": "\(enriched.event.id)", "story.id": "\(enriched.story.storyId)",
            "alerts.now": "\(plan.immediate.count)", "alerts.held": "\(plan.held.count)", "alerts.dropped": "\(plan.dropped.count)",
        ])
    }

    /// Sends alerts to their channel topics as one batch and waits until Kafka acknowledged every one.
    private func send(_ alerts: [Alert]) async throws {
        let messages = try alerts.map { try PipelineRecord.alert($0) }
        _ = try await RetryingSend.send(batch: messages, with: producer, logger: logger)
        for (topic, records) in Dictionary(grouping: messages, by: \.topic) { PipelineMetrics.produced(topic, count: records.count) }
    }

    private func releaseHeldAlerts() async throws {
        while !Task.isCancelled {
            try await Task.sleep(for: configuration.releaseInterval)
            let now = Date()
            let due = try await database.dueHeldAlerts(now: now, limit: 500)
            guard !due.isEmpty else { continue }
            // Digest alerts of one channel due at one time go out as one message; the others one by one.
            let groups = Dictionary(grouping: due.filter(\.digest)) { "\($0.channelID) \($0.deliverAfter?.timeIntervalSince1970 ?? 0)" }
            let digests = groups.values.compactMap { Alert.digest(of: $0, now: now) }
            let single = due.filter { !$0.digest }
            try await send(single + digests)
            try await database.releaseHeld(single)
            try await database.releaseDigests(digests)
            logger.info("held alerts released", metadata: ["alerts": "\(single.count)", "digests": "\(digests.count)", "digest.items": "\(due.count - single.count)"])
        }
    }

}
