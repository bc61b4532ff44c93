import Foundation
import Logging
import ServiceLifecycle
import NIOConcurrencyHelpers

/// A Kafka producer. `send` returns once the broker acknowledged the message (`acks=all` by default);
/// `sendAndForget` only enqueues, and a later failure reaches the failure handler and `unawaitedFailures`.
///
/// As a `Service`, it runs until graceful shutdown and then flushes what is still in flight.
public final class KafkaProducer: Service, Sendable {
    private let client: RDKafkaClient
    private let configuration: KafkaProducerConfiguration
    private let logger: Logger
    private let state = NIOLockedValueBox(State())
    private let pollThreadDone = DispatchSemaphore(value: 0)

    private struct State {
        var closed = false
        var unawaitedFailures = 0
    }

    /// Creates the producer and starts serving its delivery reports on a dedicated thread.
    ///
    /// - Parameter onUnawaitedFailure: called (on the poll thread) for every failed `sendAndForget` message.
    public init(
        configuration: KafkaProducerConfiguration,
        logger: Logger,
        onUnawaitedFailure: (@Sendable (KafkaError, String) -> Void)? = nil
    ) throws(KafkaError) {
        self.configuration = configuration
        self.logger = logger
        var onRecordStored: (@Sendable (String) -> Void)?
        if let wakeups = configuration.kafka.idlePause?.wakeups {
            onRecordStored = { topic in wakeups.recordStored(onTopic: topic) }
        }
        client = try RDKafkaClient(
            kind: .producer, properties: configuration.librdkafkaProperties, logger: logger, onRecordStored: onRecordStored)
        let state = self.state
        client.context.unawaitedFailure.withLockedValue {
            $0 = { error, topic in
                state.withLockedValue { $0.unawaitedFailures += 1 }
                logger.error("unawaited Kafka delivery failed", metadata: ["kafka.topic": "\(topic)", "kafka.error": "\(error)"])
                onUnawaitedFailure?(error, topic)
            }
        }
        let client = self.client
        let done = pollThreadDone
        let thread = Thread {
            while !state.withLockedValue({ $0.closed }) {
                client.poll(timeoutMilliseconds: 500)
            }
            done.signal()
        }
        thread.name = "newsalert-kafka-producer-poll"
        thread.start()
    }

    deinit {
        state.withLockedValue { $0.closed = true }
        pollThreadDone.wait()
    }

    /// How many `sendAndForget` messages failed after being enqueued.
    public var unawaitedFailures: Int { state.withLockedValue { $0.unawaitedFailures } }

    /// Messages enqueued but not yet acknowledged or failed.
    public var outstandingMessages: Int { client.outstandingMessages }

    /// Sends one message and returns where the broker stored it; throws if it could not be delivered.
    public func send(_ message: KafkaOutgoingMessage) async throws -> KafkaDeliveryReceipt {
        enum Outcome: Sendable {
            case delivered(Result<KafkaDeliveryReceipt, KafkaError>)
            case queueFull
            case rejected(KafkaError)
        }
        while true {
            try checkUsable()
            let client = self.client
            let outcome: Outcome = await withCheckedContinuation { continuation in
                let promise = RDKafkaDeliveryPromise { continuation.resume(returning: .delivered($0)) }
                switch client.produce(message, promise: promise) {
                case .enqueued: break
                case .queueFull: continuation.resume(returning: .queueFull)
                case .rejected(let error): continuation.resume(returning: .rejected(error))
                }
            }
            switch outcome {
            case .delivered(let result): return try result.get()
            case .rejected(let error): throw error
            case .queueFull: try await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    /// Sends `messages` in their order and returns once the broker acknowledged every one (receipts in the same
    /// order); throws the first failure. All are enqueued before any acknowledgement is awaited, so a batch costs
    /// about one round trip instead of one per message, and the idempotent producer keeps their order within
    /// each partition.
    public func send(batch messages: [KafkaOutgoingMessage]) async throws -> [KafkaDeliveryReceipt] {
        let acknowledgements = BatchAcknowledgements(count: messages.count)
        for (index, message) in messages.enumerated() {
            enqueueing: while true {
                try checkUsable()
                let promise = RDKafkaDeliveryPromise { acknowledgements.complete(index, with: $0) }
                switch client.produce(message, promise: promise) {
                case .enqueued: break enqueueing
                case .queueFull: try await Task.sleep(for: .milliseconds(1))
                case .rejected(let error): throw error
                }
            }
        }
        return try await acknowledgements.all()
    }

    /// Enqueues a message without waiting for the broker. Throws only if it cannot be enqueued at all;
    /// a later delivery failure is logged, counted and passed to the failure handler.
    public func sendAndForget(_ message: KafkaOutgoingMessage) async throws {
        while true {
            try checkUsable()
            switch client.produce(message, promise: nil) {
            case .enqueued: return
            case .rejected(let error): throw error
            case .queueFull: try await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    /// Waits until every enqueued message is acknowledged or failed.
    public func flush(timeout: Duration? = nil) async throws(KafkaError) {
        let milliseconds = timeout.map { Int32($0 / .milliseconds(1)) } ?? Int32(configuration.flushTimeoutMilliseconds)
        let client = self.client
        guard await blockingCall({ client.flush(timeoutMilliseconds: milliseconds) }) else {
            throw KafkaError(
                kind: .delivery, code: "_TIMED_OUT",
                message: "\(client.outstandingMessages) messages still unacknowledged after \(milliseconds) ms", isRetriable: true)
        }
    }

    /// Flushes outstanding messages and stops serving callbacks. Later sends throw.
    public func shutdown() async {
        do {
            try await flush()
        } catch {
            logger.error("producer shut down with unacknowledged messages", metadata: ["kafka.error": "\(error)"])
        }
        state.withLockedValue { $0.closed = true }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    private func checkUsable() throws(KafkaError) {
        if state.withLockedValue({ $0.closed }) { throw KafkaError.closed("producer") }
        if let fatal = client.context.fatalError.withLockedValue({ $0 }) { throw fatal }
    }
}

/// Collects the delivery results of one batch; `all()` returns when every message is acknowledged or failed.
private final class BatchAcknowledgements: Sendable {
    private struct State {
        var results: [Result<KafkaDeliveryReceipt, KafkaError>?]
        var remaining: Int
        var waiter: CheckedContinuation<[Result<KafkaDeliveryReceipt, KafkaError>?], Never>?
    }

    private let state: NIOLockedValueBox<State>

    init(count: Int) {
        state = NIOLockedValueBox(State(results: Array(repeating: nil, count: count), remaining: count))
    }

    func complete(_ index: Int, with result: Result<KafkaDeliveryReceipt, KafkaError>) {
        let finished: (CheckedContinuation<[Result<KafkaDeliveryReceipt, KafkaError>?], Never>, [Result<KafkaDeliveryReceipt, KafkaError>?])? = state.withLockedValue {
            $0.results[index] = result
            $0.remaining -= 1
            guard $0.remaining == 0, let waiter = $0.waiter else { return nil }
            $0.waiter = nil
            return (waiter, $0.results)
        }
        if let (waiter, results) = finished { waiter.resume(returning: results) }
    }

    func all() async throws(KafkaError) -> [KafkaDeliveryReceipt] {
        let results = await withCheckedContinuation { continuation in
            let ready: [Result<KafkaDeliveryReceipt, KafkaError>?]? = state.withLockedValue {
                if $0.remaining == 0 { return $0.results }
                $0.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
        var receipts: [KafkaDeliveryReceipt] = []
        receipts.reserveCapacity(results.count)
        for result in results { receipts.append(try result!.get()) }
        return receipts
    }
}
