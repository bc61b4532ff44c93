import Foundation
import KafkaBridge
import Logging
import NewsAlertCore
import NewsAlertDelivery
import NewsAlertHTTP
import NewsAlertStore
import NIOConcurrencyHelpers
import ServiceLifecycle

/// What one delivery attempt on a channel achieved.
public enum ChannelAttemptResult: Sendable {
    case delivered(statusCode: Int?, detail: String?)
    /// Try again later (per the retry schedule; `retryAfter` when the receiver asked for a pause).
    case retry(statusCode: Int?, detail: String, retryAfter: Duration?)
    /// Do not try again; `disablesChannel` when the target is gone for good (HTTP 410, repeated bounces).
    case failed(statusCode: Int?, detail: String, disablesChannel: Bool)
}

/// Delivers one alert to one channel; implemented per channel kind (webhook, email).
public protocol ChannelDeliverer: Sendable {
    var kind: DeliveryChannel.Kind { get }
    func deliver(_ alert: Alert, to channel: DeliveryChannel, attempt: Int) async -> ChannelAttemptResult
}

/// A delivery role (`newsalert deliver --channel …`): reads its channel's alert topic into a durable queue in
/// SQLite, marks the record done once queued, and works the queue: attempts run concurrently, so a slow receiver
/// holds up only its own deliveries; failures are retried per the schedule, then dead-lettered.
public final class DeliveryWorker: Service, Sendable {
    public struct Configuration: Sendable {
        public var schedule = RetrySchedule()
        /// Attempts in flight at once across all targets.
        public var maxConcurrentAttempts = 64
        /// Longest pause of an idle queue between two looks (a safety net: a queued delivery, a finished attempt or
        /// the next retry falling due wakes the queue at once).
        public var pollInterval: Duration = .seconds(2)
        /// Attempts in flight at once to one channel (endpoint or address).
        public var maxConcurrentPerTarget = 4
        /// Permanent failures on one channel within a week after which it is disabled (bounces); nil never.
        public var bounceLimit: Int?
        /// A channel failing for this long without one success is disabled (its queued deliveries go dead).
        public var disableFailingAfter: Duration = .seconds(5 * 86_400)
        /// On graceful shutdown, put every delivery still waiting back on the channel topic, so the partition's next
        /// owner carries on even if this worker's disk is gone. Only with a durable cluster: the embedded broker
        /// forgets everything when the process ends, while this worker's SQLite keeps the queue for its next start.
        public var handBackOnShutdown = false
        public init() {}
    }

    private let deliverer: any ChannelDeliverer
    private let consumer: KafkaConsumer
    private let producer: KafkaProducer
    private let database: AppDatabase
    private let replica: SubscriptionReplica
    private let deadLetters: DeadLetterWriter
    private let configuration: Configuration
    private let logger: Logger
    private let inFlight = NIOLockedValueBox(0)

    public init(
        deliverer: any ChannelDeliverer, kafka: KafkaConfiguration, producer: KafkaProducer, database: AppDatabase,
        replica: SubscriptionReplica, configuration: Configuration, logger: Logger
    ) throws {
        let topic = PipelineRecord.topic(for: deliverer.kind)
        consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(kafka: kafka, groupID: "newsalert-deliver-\(deliverer.kind.rawValue)", topics: [topic]), logger: logger)
        self.deliverer = deliverer
        self.producer = producer
        self.database = database
        self.replica = replica
        self.configuration = configuration
        self.logger = logger
        deadLetters = DeadLetterWriter(producer: producer, stage: "deliver-\(deliverer.kind.rawValue)", logger: logger)
    }

    public func run() async throws {
        try await replica.waitUntilLoaded()
        try await database.releaseInterruptedAttempts(channel: deliverer.kind)
        try await consumer.processRecords(alongside: { try await self.workQueue() }, logger: logger) { record in
            try await enqueue(record)
        }
        if configuration.handBackOnShutdown { try await handBackQueue() }
    }

    /// Headers of a handed-back alert: the attempts made, when the next is due (ISO 8601) and the attempts
    /// themselves (a JSON array of delivery attempts); and of a replay another node forwarded (`true`).
    static let attemptsHeader = "newsalert-attempts", nextAttemptHeader = "newsalert-next-attempt-at",
               attemptHistoryHeader = "newsalert-attempt-history", replayHeader = "newsalert-replay"

    /// An alert on its channel topic again, carrying its retry schedule and its attempts on: handed back by a
    /// stopping worker, or a replay forwarded by a node that does not hold the delivery (`replay`, due now).
    /// The worker that reads it owns the delivery from then on, whole history included.
    static func handOver(_ delivery: HandedBackDelivery, replay: Bool = false) throws -> KafkaOutgoingMessage {
        try PipelineRecord.alert(delivery.alert, extraHeaders: [
            KafkaHeader(key: attemptsHeader, string: "\(delivery.attempts)"),
            KafkaHeader(key: nextAttemptHeader, string: delivery.nextAttemptAt.formatted(.iso8601)),
            KafkaHeader(key: attemptHistoryHeader, value: Array(try JSONEncoder.newsAlert.encode(delivery.history))),
        ] + (replay ? [KafkaHeader(key: replayHeader, string: "true")] : []))
    }

    private func enqueue(_ record: KafkaRecord) async throws {
        guard let alert = try await deadLetters.decode(Alert.self, from: record, expecting: "an alert") else { return }
        let target = replica.catalog.channels[alert.channelID]?.target
        let replay = record.headers.contains { $0.key == Self.replayHeader }
        _ = try await database.enqueueDelivery(
            alert, target: target, sourcePartition: Int(record.partition), sourceOffset: record.offset, handedBack: Self.handedBack(alert, record), replay: replay)
        if replay {
            logger.info("replay forwarded by another node scheduled", metadata: ["delivery.id": "\(alert.alertID)", "subscriber.id": "\(alert.subscriberID)"])
        }
    }

    /// Where the retry schedule of a handed-back alert stands; nil for an alert fresh from fan-out.
    static func handedBack(_ alert: Alert, _ record: KafkaRecord) -> HandedBackDelivery? {
        func header(_ key: String) -> [UInt8]? { record.headers.last { $0.key == key }?.value }
        func text(_ key: String) -> String? { header(key).map { String(decoding: $0, as: UTF8.self) } }
        guard let attempts = text(attemptsHeader).flatMap(Int.init), attempts >= 0,
              let due = text(nextAttemptHeader).flatMap({ try? Date($0, strategy: .iso8601) }) else { return nil }
        // Records handed back before the history travelled with them carry none; the count still holds.
        let history = header(attemptHistoryHeader).flatMap { try? JSONDecoder.newsAlert.decode([DeliveryAttempt].self, from: Data($0)) } ?? []
        return HandedBackDelivery(alert: alert, attempts: attempts, nextAttemptAt: due, history: history.filter { $0.attempt <= attempts })
    }

    /// Puts every delivery still waiting (for a retry, or interrupted by the shutdown) back on the channel topic with
    /// its attempt count and due time, then marks it `queued`: whoever owns the partition next carries on.
    private func handBackQueue() async throws {
        let pending = try await database.pendingDeliveries(channel: deliverer.kind)
        guard !pending.isEmpty else { return }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for delivery in pending {
                let message = try Self.handOver(delivery)
                group.addTask { [producer, logger] in _ = try await RetryingSend.send(message, with: producer, logger: logger) }
            }
            try await group.waitForAll()
        }
        try await database.markHandedBack(pending.map(\.alert.alertID))
        logger.notice("pending deliveries handed back to their topic", metadata: ["channel": "\(deliverer.kind.rawValue)", "deliveries": "\(pending.count)"])
    }

    /// Starts every due attempt that is not already running, up to the concurrency limit, until cancelled.
    private func workQueue() async throws {
        let changes = database.changes(of: "delivery")
        try await withThrowingDiscardingTaskGroup { group in
            var lastDepthReport = ContinuousClock.now - .seconds(10)
            while !Task.isCancelled {
                if ContinuousClock.now - lastDepthReport > .seconds(2) {
                    PipelineMetrics.retryQueue(deliverer.kind, depth: try await database.retryQueueDepth(channel: deliverer.kind))
                    lastDepthReport = ContinuousClock.now
                }
                let free = configuration.maxConcurrentAttempts - inFlight.withLockedValue { $0 }
                let due = free > 0 ? try await database.claimDue(channel: deliverer.kind, now: Date(), limit: free, perTarget: configuration.maxConcurrentPerTarget) : []
                for (alert, attempts) in due {
                    inFlight.withLockedValue { $0 += 1 }
                    group.addTask {
                        defer { self.inFlight.withLockedValue { $0 -= 1 } }
                        try await self.attempt(alert, number: attempts + 1)
                    }
                }
                if due.isEmpty {
                    // Nothing claimable: sleep until the queue changes (a delivery queued, an attempt finished) or the
                    // next retry falls due. One due now but held back by its endpoint's limit waits for a change.
                    var pause = configuration.pollInterval
                    if free > 0, let next = try await database.nextAttemptDue(channel: deliverer.kind), next.timeIntervalSinceNow > 0 {
                        pause = min(pause, .milliseconds(Int(next.timeIntervalSinceNow * 1000) + 1))
                    }
                    await changes.wait(upTo: pause)
                }
            }
        }
    }

    private func attempt(_ alert: Alert, number: Int) async throws {
        let startedAt = Date()
        guard let channel = replica.catalog.channels[alert.channelID], channel.isDeliverable else {
            let attempt = DeliveryAttempt(attempt: number, at: startedAt, outcome: "failed", detail: "the channel was deleted, disabled or not confirmed by its owner")
            try await database.recordAttempt(deliveryID: alert.alertID, attempt, state: .failed, nextAttemptAt: nil, reason: attempt.detail)
            return
        }
        let result = await deliverer.deliver(alert, to: channel, attempt: number)
        let milliseconds = Date().timeIntervalSince(startedAt) * 1000
        switch result {
        case .delivered(let status, let detail):
            try await database.recordAttempt(
                deliveryID: alert.alertID, DeliveryAttempt(attempt: number, at: startedAt, outcome: "delivered", statusCode: status, detail: detail, durationMilliseconds: milliseconds),
                state: .delivered, nextAttemptAt: nil, reason: nil)
            PipelineMetrics.delivery(channel.kind, outcome: "delivered")
            PipelineMetrics.delivered(alert)
            logger.info("alert delivered", metadata: ["delivery.id": "\(alert.alertID)", "subscriber.id": "\(alert.subscriberID)", "channel": "\(channel.kind.rawValue)", "attempt": "\(number)"])
        case .retry(let status, let detail, let retryAfter):
            let attempt = DeliveryAttempt(attempt: number, at: startedAt, outcome: "retry", statusCode: status, detail: detail, durationMilliseconds: milliseconds)
            if let since = try await database.failingSince(channelID: channel.id),
               Date().timeIntervalSince(since) >= Double(configuration.disableFailingAfter.components.seconds) {
                let reason = "failing since \(RFC3339.format(since)) without one success; last: \(detail)"
                try await database.recordAttempt(deliveryID: alert.alertID, attempt, state: .dead, nextAttemptAt: nil, reason: reason)
                try await deadLetter(alert, reason: reason)
                try await disable(channel, reason: reason)
                return
            }
            if let delay = configuration.schedule.delay(afterAttempt: number, retryAfter: retryAfter) {
                let next = Date().addingTimeInterval(Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
                try await database.recordAttempt(deliveryID: alert.alertID, attempt, state: .retrying, nextAttemptAt: next, reason: detail)
                PipelineMetrics.delivery(channel.kind, outcome: "retry")
                logger.warning("delivery attempt failed; retrying", metadata: ["delivery.id": "\(alert.alertID)", "attempt": "\(number)", "reason": "\(detail)", "retry.at": "\(RFC3339.format(next))"])
            } else {
                try await database.recordAttempt(deliveryID: alert.alertID, attempt, state: .dead, nextAttemptAt: nil, reason: "gave up after \(number) attempts: \(detail)")
                try await deadLetter(alert, reason: "delivery failed after \(number) attempts: \(detail)")
                PipelineMetrics.delivery(channel.kind, outcome: "dead")
            }
        case .failed(let status, let detail, let disables):
            try await database.recordAttempt(
                deliveryID: alert.alertID, DeliveryAttempt(attempt: number, at: startedAt, outcome: "failed", statusCode: status, detail: detail, durationMilliseconds: milliseconds),
                state: .failed, nextAttemptAt: nil, reason: detail)
            PipelineMetrics.delivery(channel.kind, outcome: "failed")
            var disables = disables
            var reason = detail
            if !disables, let limit = configuration.bounceLimit,
               try await database.failedDeliveries(channelID: channel.id, since: Date().addingTimeInterval(-7 * 86_400)) >= limit {
                disables = true
                reason = "\(limit) permanent failures within a week; last: \(detail)"
            }
            if disables { try await disable(channel, reason: reason) }
        }
    }

    /// Disables a channel for good reason (410, bounces, failing too long) and publishes the change.
    private func disable(_ channel: DeliveryChannel, reason: String) async throws {
        PipelineMetrics.channelDisabled(channel.kind)
        _ = try await database.updateChannel(id: channel.id, subscriberID: channel.subscriberID) { channel in
            channel.status = .disabled
            channel.disabledReason = reason
        }
        logger.warning("channel disabled", metadata: ["channel.id": "\(channel.id)", "subscriber.id": "\(channel.subscriberID)", "reason": "\(reason)"])
        // Tell the subscriber on another channel, email first (a ticker may not be watched).
        let others = replica.catalog.activeChannels(of: channel.subscriberID).filter { $0.id != channel.id }
        guard let other = others.first(where: { $0.kind == .email }) ?? others.first(where: { $0.kind == .webhook }) else { return }
        let notice = Alert.notice(channel: other, disabled: channel, reason: reason, now: Date())
        _ = try await RetryingSend.send(try PipelineRecord.alert(notice), with: producer, logger: logger)
        logger.info("subscriber told of the disabled channel", metadata: ["channel.id": "\(other.id)", "delivery.id": "\(notice.alertID)"])
    }

    private func deadLetter(_ alert: Alert, reason: String) async throws {
        let source = try await database.deliverySource(id: alert.alertID)
        let record = KafkaRecord(
            topic: PipelineRecord.topic(for: alert.channel), partition: Int32(source?.partition ?? 0), offset: source?.offset ?? 0,
            key: Array(alert.subscriberID.utf8), value: Array(try JSONEncoder.newsAlert.encode(alert)))
        try await deadLetters.park(record, reason: reason, details: "delivery \(alert.alertID); replay with POST /v1/deliveries/\(alert.alertID)/replay")
    }
}

/// Forwards a replay through the delivery's channel topic (keyed by subscriber, like the alert was), so the worker
/// owning that partition now replays it: the worker that holds the delivery, or, after partitions moved, the next
/// owner, which takes the alert up with the attempts made so far.
public struct KafkaReplayForwarder: DeliveryReplayForwarder {
    let producer: KafkaProducer

    public init(producer: KafkaProducer) {
        self.producer = producer
    }

    public func forwardReplay(of delivery: DeliveryRecord) async throws {
        let forwarded = HandedBackDelivery(alert: delivery.alert, attempts: delivery.attemptsMade, nextAttemptAt: Date(), history: delivery.attempts)
        _ = try await producer.send(try DeliveryWorker.handOver(forwarded, replay: true))
    }
}
