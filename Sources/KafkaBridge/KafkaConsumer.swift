import Foundation
import Dispatch
import Logging
import ServiceLifecycle
import NIOConcurrencyHelpers

/// A member of a Kafka consumer group whose records arrive as an `AsyncSequence`.
///
/// At-least-once: offsets are only *stored* when the caller calls `markDone` (after its work is
/// durable), and only stored offsets are committed — in the background, before partitions are
/// revoked in a rebalance, and on close. Records of partitions this member no longer owns are
/// dropped from its buffer, so two members never work on the same partition knowingly.
public final class KafkaConsumer: Service, Sendable {
    private let client: RDKafkaClient
    private let configuration: KafkaConsumerConfiguration
    private let logger: Logger
    /// Every blocking call on the handle (fetch, close) runs here, one at a time.
    private let pollQueue = DispatchQueue(label: "newsalert.kafka.consumer")
    private let state = NIOLockedValueBox(State())

    private struct State {
        var assignment: Set<KafkaTopicPartition> = []
        /// The offset each owned partition should deliver next, once its first record was checked.
        var nextExpected: [KafkaTopicPartition: Int64] = [:]
        var closing = false
        var closed = false
        /// Idle pause (see `KafkaIdlePause`): whether the assignment is paused, since when, and the last sign of work.
        var paused = false
        var pausedAt = ContinuousClock.now
        var lastActivity = ContinuousClock.now
        /// Resumed only to look for records from other processes: pauses again after the short probe window.
        var probing = false
        /// Resumed and no record yet: librdkafka 2.0 does not always wake a waiting consume call for the first
        /// records fetched after a resume, so the consumer looks at its queue in short steps until they come.
        var resumedAwaitingRecords = false
    }

    /// The id under which this consumer listens to its process's producers, when it pauses while idle.
    private let wakeupListener: Int?

    /// Creates the client and subscribes; the group join happens on the first fetch.
    public init(configuration: KafkaConsumerConfiguration, logger: Logger) throws(KafkaError) {
        self.configuration = configuration
        self.logger = logger
        client = try RDKafkaClient(kind: .consumer, properties: configuration.librdkafkaProperties, logger: logger)
        let state = self.state
        client.context.rebalance.withLockedValue {
            $0 = { event in
                state.withLockedValue {
                    switch event.change {
                    case .assigned: $0.assignment.formUnion(event.partitions)
                    case .revoked:
                        $0.assignment.subtract(event.partitions)
                        for partition in event.partitions { $0.nextExpected[partition] = nil }
                    }
                    // Applying the change resumes what it assigns; the idle clock starts again.
                    $0.paused = false
                    $0.probing = false
                    $0.lastActivity = .now
                }
                logger.info(
                    "partitions \(event.change)",
                    metadata: ["kafka.partitions": "\(event.partitions.map(\.description).sorted().joined(separator: ","))"])
                event.apply()
            }
        }
        try client.subscribe(configuration.topics)
        if let idlePause = configuration.kafka.idlePause {
            let client = self.client
            let resumeQueue = self.resumeQueue
            wakeupListener = idlePause.wakeups.listen(to: configuration.topics) {
                KafkaConsumer.wake(topic: $0, state: state, client: client, resumeQueue: resumeQueue, logger: logger)
            }
        } else {
            wakeupListener = nil
        }
    }

    deinit {
        if let wakeupListener { configuration.kafka.idlePause?.wakeups.stopListening(wakeupListener) }
    }

    /// A producer of this process stored a record on one of the topics: fetch now (resuming if paused) and stay
    /// awake for another `pauseAfter`. Runs on the producer's delivery-report thread, so the resume itself (a round
    /// trip to librdkafka's main thread) happens on `resumeQueue`.
    private static func wake(topic: String, state: NIOLockedValueBox<State>, client: RDKafkaClient, resumeQueue: DispatchQueue, logger: Logger) {
        let resumed: [KafkaTopicPartition]? = state.withLockedValue { state in
            state.lastActivity = .now
            state.probing = false
            guard state.paused else { return nil }
            state.paused = false
            state.resumedAwaitingRecords = true
            return Array(state.assignment)
        }
        guard let resumed else { return }
        logger.debug("idle consumer woken by a record of this process", metadata: ["kafka.topic": "\(topic)"])
        resumeQueue.async { resume(resumed, state: state, client: client, interruptingConsume: true) }
    }

    /// Resumes `partitions` and gets librdkafka fetching them at once. Runs on `resumeQueue`.
    private static func resume(_ partitions: [KafkaTopicPartition], state: NIOLockedValueBox<State>, client: RDKafkaClient, interruptingConsume: Bool) {
        client.resume(partitions)
        // A consume call already waiting would not see the first records; the next calls look in short steps.
        if interruptingConsume { client.interruptConsume() }
        client.wakeFetchers(of: partitions) { state.withLockedValue { $0.resumedAwaitingRecords && !$0.paused } }
    }

    /// Where this consumer's partitions are resumed and their fetchers woken (blocking round trips), in order, away
    /// from the threads that ring and from the poll thread.
    private let resumeQueue = DispatchQueue(label: "newsalert.kafka.consumer-resume")

    /// After a fetch that brought nothing: pauses an idle assignment, or resumes a paused one for a probe when due.
    /// Returns how long the next fetch may wait before this should be asked again.
    private func idleTick(_ idlePause: KafkaIdlePause) -> Duration {
        let client = self.client
        return state.withLockedValue { state in
            let now = ContinuousClock.now
            if state.paused {
                if now - state.pausedAt >= idlePause.probeEvery {
                    state.paused = false
                    state.probing = true
                    state.resumedAwaitingRecords = true
                    state.lastActivity = now
                    let partitions = Array(state.assignment)
                    let shared = self.state
                    resumeQueue.async { Self.resume(partitions, state: shared, client: client, interruptingConsume: false) }
                    return Self.resumedPollStep
                }
                return state.pausedAt + idlePause.probeEvery - now
            }
            guard !state.assignment.isEmpty else { return idlePause.pauseAfter }
            let window = state.probing ? idlePause.probeWindow : idlePause.pauseAfter
            if now - state.lastActivity >= window {
                state.paused = true
                state.resumedAwaitingRecords = false
                state.pausedAt = now
                client.pause(Array(state.assignment))
                logger.debug("idle consumer paused", metadata: ["kafka.group": "\(configuration.groupID)"])
                return idlePause.probeEvery
            }
            let untilPause = state.lastActivity + window - now
            return state.resumedAwaitingRecords ? min(untilPause, Self.resumedPollStep) : untilPause
        }
    }

    private func noteRecordsArrived() {
        state.withLockedValue {
            $0.lastActivity = .now
            $0.probing = false
            $0.resumedAwaitingRecords = false
        }
    }

    /// The longest a paused consumer's poll thread sleeps in one call.
    private static let longestIdleWait = Duration.seconds(10)

    /// How long one look at the queue waits while records are expected after a resume.
    private static let resumedPollStep = Duration.milliseconds(5)

    /// The records of the subscribed topics, in order per partition. Ends when the consumer is closed.
    public var records: KafkaRecordSequence { KafkaRecordSequence(consumer: self) }

    /// The partitions this member currently owns.
    public var assignment: Set<KafkaTopicPartition> { state.withLockedValue { $0.assignment } }

    /// Whether the consumer paused its partitions for lack of records (see `KafkaIdlePause`).
    public var isPausedWhileIdle: Bool { state.withLockedValue { $0.paused } }

    func owns(_ record: KafkaRecord) -> Bool {
        state.withLockedValue { $0.assignment.contains(record.topicPartition) }
    }

    /// Marks a record (and every earlier one of its partition) done: its offset will be committed.
    /// Throws if the partition was revoked meanwhile; its new owner will then process it again.
    public func markDone(_ record: KafkaRecord) throws(KafkaError) {
        try client.storeOffsets([(record.topic, record.partition, record.offset + 1)])
    }

    /// Marks many records done at once (the highest offset per partition wins).
    public func markDone(_ records: some Sequence<KafkaRecord>) throws(KafkaError) {
        var next: [KafkaTopicPartition: Int64] = [:]
        for record in records {
            next[record.topicPartition] = max(next[record.topicPartition] ?? 0, record.offset + 1)
        }
        guard !next.isEmpty else { return }
        try client.storeOffsets(next.map { ($0.key.topic, $0.key.partition, $0.value) })
    }

    /// Commits stored offsets now instead of waiting for the background committer.
    public func commit() async throws(KafkaError) {
        let client = self.client
        try await blockingCall(on: pollQueue) { () throws(KafkaError) in try client.commitStored() }
    }

    /// The group's committed offsets (next offset to read) for the given partitions.
    public func committedOffsets(for partitions: [KafkaTopicPartition], timeout: Duration = .seconds(10)) async throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        let client = self.client
        let milliseconds = Int32(timeout / .milliseconds(1))
        return try await blockingCall { () throws(KafkaError) in try client.committedOffsets(partitions, timeoutMilliseconds: milliseconds) }
    }

    /// Fetches the next batch of owned records; `nil` once closed.
    func fetchBatch() async throws -> [KafkaRecord]? {
        let cancelled = NIOLockedValueBox(false)
        let client = self.client
        let state = self.state
        let logger = self.logger
        let maxBatch = configuration.maxBatchSize
        let idlePause = configuration.kafka.idlePause
        let batch: Result<[KafkaRecord]?, KafkaError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                pollQueue.async {
                    var timeout: Int32 = 500
                    while true {
                        if state.withLockedValue({ $0.closing || $0.closed }) { return continuation.resume(returning: .success(nil)) }
                        if cancelled.withLockedValue({ $0 }) { return continuation.resume(returning: .success([])) }
                        var records: [KafkaRecord] = []
                        for result in client.consumeBatch(maxCount: maxBatch, timeoutMilliseconds: timeout) {
                            switch result {
                            case .success(let record):
                                records.append(record)
                            case .failure(let error) where error.isFatal:
                                return continuation.resume(returning: .failure(error))
                            case .failure(let error):
                                logger.warning("consumer error", metadata: ["kafka.error": "\(error)"])
                            }
                        }
                        if !records.isEmpty {
                            if idlePause != nil { self.noteRecordsArrived() }
                            self.checkForLosses(in: records)
                            return continuation.resume(returning: .success(records))
                        }
                        if let idlePause {
                            let next = self.idleTick(idlePause)
                            // A paused consumer sleeps until its probe is due; close and cancellation interrupt the wait.
                            timeout = Int32(min(Double(Self.longestIdleWait / .milliseconds(1)), max(1, next / .milliseconds(1))))
                        }
                    }
                }
            }
        } onCancel: {
            cancelled.withLockedValue { $0 = true }
            client.interruptConsume()
        }
        try Task.checkCancellation()
        return try batch.get()
    }

    /// Compares each partition's records with where the partition should go on (see `KafkaLossCheck`); logs and
    /// reports every jump. Runs on the poll queue, between fetches.
    private func checkForLosses(in records: [KafkaRecord]) {
        let check = configuration.lossCheck
        if case .off = check { return }
        var losses: [KafkaRecordLoss] = []
        for record in records {
            let partition = record.topicPartition
            guard let expected = state.withLockedValue({ $0.nextExpected[partition] }) ?? firstExpected(for: record, check) else {
                state.withLockedValue { $0.nextExpected[partition] = record.offset + 1 }
                continue
            }
            if record.offset > expected {
                let kind: KafkaRecordLoss.Kind = if case .wholeLog = check, expected == 0 { .logBeginningGone } else { .positionBehindLog }
                losses.append(KafkaRecordLoss(
                    kind: kind, groupID: configuration.groupID, topic: record.topic, partition: record.partition, firstLost: expected, lastLost: record.offset - 1))
            }
            state.withLockedValue { $0.nextExpected[partition] = max($0.nextExpected[partition] ?? 0, record.offset + 1) }
        }
        for loss in losses {
            logger.error("records lost: never read, no longer in the log", metadata: [
                "kafka.topic": "\(loss.topic)", "kafka.partition": "\(loss.partition)", "kafka.lost.first": "\(loss.firstLost)",
                "kafka.lost.last": "\(loss.lastLost)", "kafka.lost.count": "\(loss.count)", "kafka.group": "\(loss.groupID)", "kafka.loss": "\(loss.kind.rawValue)",
            ])
            configuration.kafka.onRecordsLost?(loss)
        }
    }

    /// Where the first record of a newly owned partition should be: the group's committed offset, or 0 for a
    /// whole-log reader; nil when there is nothing to hold it to (a new group, a first record retention may have
    /// aged out on purpose).
    private func firstExpected(for record: KafkaRecord, _ check: KafkaLossCheck) -> Int64? {
        switch check {
        case .off:
            return nil
        case .wholeLog(let retention):
            if let retention, let written = record.timestamp,
               Date().timeIntervalSince(written) > Double(retention.components.seconds) - 3_600 { return nil }
            return 0
        case .groupPosition:
            let committed = try? client.committedOffsets([record.topicPartition], timeoutMilliseconds: 5_000)[record.topicPartition]
            return committed.flatMap { $0 >= 0 ? $0 : nil }
        }
    }

    /// How many records of the record's partition follow it, by the last high watermark fetched (consumer lag).
    public func lag(after record: KafkaRecord) -> Int64? {
        client.cachedHighWatermark(topic: record.topic, partition: record.partition).map { max(0, $0 - record.offset - 1) }
    }

    /// Commits stored offsets, leaves the group and ends the record sequence. Safe to call twice.
    public func close() async {
        let first = state.withLockedValue { state in
            defer { state.closing = true }
            return !state.closing
        }
        guard first else { return }
        let client = self.client
        client.interruptConsume()
        let logger = self.logger
        await blockingCall(on: pollQueue) {
            do {
                try client.closeConsumer()
            } catch {
                logger.error("consumer close failed", metadata: ["kafka.error": "\(error)"])
            }
        }
        state.withLockedValue { $0.closed = true; $0.assignment = [] }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }
}

/// The records of a `KafkaConsumer`, fetched in batches from librdkafka's queue.
public struct KafkaRecordSequence: AsyncSequence, Sendable {
    public typealias Element = KafkaRecord
    let consumer: KafkaConsumer

    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: KafkaConsumer
        var buffer: [KafkaRecord] = []
        var index = 0

        /// Whether records of the last fetched batch are still waiting, i.e. `next()` will not fetch.
        public var hasBufferedRecords: Bool { index < buffer.count }

        public mutating func next() async throws -> KafkaRecord? {
            while true {
                while index < buffer.count {
                    let record = buffer[index]
                    index += 1
                    if consumer.owns(record) { return record }
                }
                guard let batch = try await consumer.fetchBatch() else { return nil }
                buffer = batch
                index = 0
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(consumer: consumer)
    }
}
