import Foundation
import KafkaBridge
import Logging
import NewsAlertCore
import ServiceLifecycle

/// The read loop every consuming role shares.
extension KafkaConsumer {
    /// A reader of the whole of `topic`, from its start, with a group of its own: for logs of which every node
    /// keeps a full copy (nothing is shared with other nodes, nothing skipped).
    /// `offAlertPath`: nothing waits for this copy (delivery history), so an idle one asks the broker for news only
    /// twice a second.
    static func wholeTopicReader(_ topic: NewsTopic, kafka: KafkaConfiguration, groupPrefix: String, offAlertPath: Bool = false, logger: Logger) throws -> KafkaConsumer {
        var configuration = KafkaConsumerConfiguration(kafka: kafka, groupID: "\(groupPrefix)-\(UUID().uuidString.lowercased())", topics: [topic.name])
        configuration.offsetReset = .earliest
        // A copy of the whole log needs its beginning: a log truncated by size (the embedded broker's ~5 MiB per
        // partition) is a loss; one aged out by the topic's own retention is as configured.
        if offAlertPath { configuration.fetchWaitMaxMilliseconds = max(500, kafka.fetchWaitMaxMilliseconds) }
        configuration.lossCheck = .wholeLog(retention: topic.retentionMilliseconds.map { .milliseconds($0) })
        return try KafkaConsumer(configuration: configuration, logger: logger)
    }

    /// Runs `body`, which reads `records`, until the record sequence ends.
    ///
    /// A graceful shutdown closes the consumer: it commits what was marked done and ends the sequence. A record
    /// that was read but not finished is read again by whoever owns its partition next.
    func untilGracefulShutdown(_ body: () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            // A child task waits for the shutdown and closes the consumer, which ends `body`'s records; a body that
            // ends first (or throws) cancels it.
            group.addTask { [self] in
                guard (try? await gracefulShutdown()) != nil else { return }
                await close()
            }
            try await body()
            group.cancelAll()
        }
        await close()
    }

    /// Hands each record to `handle` in order and marks it done once `handle` returned (so only finished work is
    /// committed), while `background` runs beside the loop until the records end.
    func processRecords(
        alongside background: @escaping @Sendable () async throws -> Void, logger: Logger,
        _ handle: (KafkaRecord) async throws -> Void
    ) async throws {
        try await untilGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask(operation: background)
                for try await record in records {
                    PipelineMetrics.consumed(record, by: self)
                    try await handle(record)
                    markDone([record], logger: logger)
                }
                group.cancelAll()
            }
        }
    }

    /// Marks `records` done; if their partition moved to another member meanwhile, says so and lets it read them again.
    func markDone(_ records: [KafkaRecord], logger: Logger) {
        do {
            try markDone(records)
        } catch {
            logger.info("partition moved before its records were marked done; its new owner reads them again", metadata: ["kafka.error": "\(error)"])
        }
    }
}
