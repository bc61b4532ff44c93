import Foundation
import KafkaBridge
import Logging
import NewsAlertCore
import NewsAlertStore
import ServiceLifecycle

/// The enrich role: reads `news.events`, enriches and threads each event into a story, publishes it on
/// `news.enriched` (key: story id), and only then marks the input done.
///
/// A record that cannot be decoded goes to `news.deadletter` with its reason, and the stage carries on.
/// The story index is saved at each checkpoint, after the outputs it covers were acknowledged and before
/// their inputs are marked done, so a restart (even after kill -9) continues the same stories.
public final class EnrichService: Service, Sendable {
    public struct Configuration: Sendable {
        public var groupID = "newsalert-enrich"
        public var threader = StoryThreaderConfiguration()
        public var isoCodesPath = Gazetteer.defaultISOCodesPath
        /// Most records handled between two checkpoints (story index saved, then offsets marked done).
        public var checkpointEvery = 200
        public init() {}
    }

    private let consumer: KafkaConsumer
    private let producer: KafkaProducer
    private let database: AppDatabase
    private let deadLetters: DeadLetterWriter
    private let enricher: Enricher
    private let configuration: Configuration
    private let logger: Logger

    public init(kafka: KafkaConfiguration, producer: KafkaProducer, database: AppDatabase, configuration: Configuration, logger: Logger) throws {
        var consumerConfiguration = KafkaConsumerConfiguration(kafka: kafka, groupID: configuration.groupID, topics: [NewsTopics.events.name])
        consumerConfiguration.maxBatchSize = 100
        consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
        self.producer = producer
        self.database = database
        self.configuration = configuration
        self.logger = logger
        deadLetters = DeadLetterWriter(producer: producer, stage: "enrich", logger: logger)
        enricher = Enricher(gazetteer: try Gazetteer.load(isoCodesPath: configuration.isoCodesPath))
    }

    public func run() async throws {
        let restored = try await database.loadStoryIndex()
        let threader = restored.map { StoryThreader(snapshot: $0, configuration: configuration.threader) } ?? StoryThreader(configuration: configuration.threader)
        var pipeline = EnrichmentPipeline(enricher: enricher, threader: threader)
        logger.info("enrich stage started", metadata: ["stories.restored": "\(pipeline.storyCount)"])
        // The index as last saved: each checkpoint writes only what changed since.
        var saved = restored
        try await consumer.untilGracefulShutdown {
            var records = consumer.records.makeAsyncIterator()
            var handled: [KafkaRecord] = []
            while let record = try await records.next() {
                PipelineMetrics.consumed(record, by: consumer)
                try await handle(record, pipeline: &pipeline)
                handled.append(record)
                // Checkpoint at the end of each fetched batch (or every `checkpointEvery` records).
                if !records.hasBufferedRecords || handled.count >= configuration.checkpointEvery {
                    saved = try await checkpoint(pipeline, handled, since: saved)
                    handled.removeAll(keepingCapacity: true)
                }
            }
            _ = try await checkpoint(pipeline, handled, since: saved)
        }
    }

    /// Saves the story index (what changed since `saved`), then marks the records it covers done; returns the index
    /// as saved.
    ///
    /// Until then a crash makes them come back, and they get the same decisions again: threading is
    /// deterministic given the saved index and each record's own timestamp, so no story starts twice.
    private func checkpoint(_ pipeline: EnrichmentPipeline, _ handled: [KafkaRecord], since saved: StoryIndexSnapshot?) async throws -> StoryIndexSnapshot? {
        guard !handled.isEmpty else { return saved }
        let snapshot = pipeline.snapshot
        try await database.saveStoryIndex(snapshot, since: saved)
        consumer.markDone(handled, logger: logger)
        return snapshot
    }

    private func handle(_ record: KafkaRecord, pipeline: inout EnrichmentPipeline) async throws {
        let event: NewsEvent
        do {
            event = try EnrichmentPipeline.decodeEvent(record.value)
        } catch {
            try await deadLetters.park(record, reason: error.reason)
            return
        }
        // The record's own timestamp, not the wall clock: a redelivered record must get the same decision.
        switch pipeline.process(event, idempotencyKey: record.header("idempotency-key"), now: record.timestamp ?? event.publishedAt) {
        case .duplicate(let kind, let original):
            logger.info("duplicate dropped", metadata: ["event.id": "\(event.id)", "dedup.kind": "\(kind.rawValue)", "dedup.of": "\(original)"])
            try await database.recordDuplicate(eventID: event.id, kind: kind, of: original)
            PipelineMetrics.duplicateDropped(kind)
        case .enriched(let enriched):
            let receipt = try await RetryingSend.send(try PipelineRecord.enriched(enriched), with: producer, logger: logger)
            PipelineMetrics.produced(NewsTopics.enriched.name)
            try await database.recordEnriched(enriched)
            logger.info("event enriched", metadata: [
                "event.id": "\(event.id)", "story.id": "\(enriched.story.storyId)", "story.sequence": "\(enriched.story.sequence)",
                "story.relation": "\(enriched.story.relation.rawValue)", "kafka.offset": "\(receipt.offset)",
            ])
        }
    }
}
