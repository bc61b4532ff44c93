import ArgumentParser
import Foundation
import HummingbirdWSClient
import KafkaBridge
import Logging
import NIOConcurrencyHelpers

/// `newsalert bench e2e`: newsroom POST → ticker WebSocket frame, next to a bare Kafka produce→consume round trip.
struct E2EBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "e2e",
        abstract: "POST /v1/events → WebSocket ticker frame p50/p99 at a fixed rate, next to a bare produce→consume round trip on the same broker.",
        discussion: """
            Starts `newsalert serve` as a child process. The event path crosses four Kafka hops (news.events, news.enriched,
            alerts.ticker, and the ingest acknowledgement) plus enrichment, threading and matching; the baseline is one hop.
            """)

    @Option(help: "Events to post.") var events: Int = 200
    @Option(help: "Events per second.") var rate: Int = 20

    func run() async throws {
        CommandLogging.bootstrap()
        var quiet = CommandLogging.logger("bench")
        quiet.logLevel = .error
        let logger = quiet
        let server = try await ServeChild.start(extraArguments: ["--ticker-origins", "ws://127.0.0.1"])
        defer { server.stop() }
        try await server.postBreaking("Bench warm-up item about the Beirut port")
        try await Task.sleep(for: .seconds(2))
        printLine("bench e2e: \(events) events at \(rate)/s through \(server.baseURL), then \(events) Kafka records at \(rate)/s on \(server.bootstrapServers)")

        let clock = ContinuousClock()
        let arrivals = NIOLockedValueBox<[String: ContinuousClock.Instant]>([:])
        let wsURL = server.baseURL.replacingOccurrences(of: "http://", with: "ws://") + "/v1/ticker?backlog=0"
        let posted = try await withThrowingTaskGroup(of: [String: ContinuousClock.Instant].self) { group in
            group.addTask {
                try await WebSocketClient.connect(url: wsURL, logger: logger) { inbound, _, _ in
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message, let marker = text.range(of: "e2e-") else { continue }
                        let token = String(text[marker.lowerBound...].prefix { $0 != " " && $0 != "\"" })
                        let now = clock.now
                        arrivals.withLockedValue { $0[token] = now }
                    }
                }
                return [:]
            }
            try await Task.sleep(for: .milliseconds(500))
            group.addTask {
                var sent: [String: ContinuousClock.Instant] = [:]
                let interval = Duration.seconds(1) / rate
                var next = clock.now
                for index in 0..<events {
                    try await clock.sleep(until: next)
                    next += interval
                    let token = "e2e-\(index)-\(UUID().uuidString.prefix(8))"
                    sent[token] = clock.now
                    try await server.postBreaking("Bench \(token) report: talks on Gaza resume in Cairo with Qatari mediators \(index)")
                }
                return sent
            }
            var sent: [String: ContinuousClock.Instant] = [:]
            while let result = try await group.next() {
                if !result.isEmpty {
                    sent = result
                    break
                }
            }
            let deadline = clock.now + .seconds(30)
            while arrivals.withLockedValue({ $0.count }) < sent.count, clock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            group.cancelAll()
            return sent
        }
        let received = arrivals.withLockedValue { $0 }
        let e2e = LatencySummary(posted.compactMap { token, start in received[token].map { ($0 - start).seconds * 1000 } })
        printLine("POST→frame:      \(e2e.count) of \(posted.count) arrived, p50 \(String(format: "%.1f", e2e.p50)) ms, p99 \(String(format: "%.1f", e2e.p99)) ms, max \(String(format: "%.1f", e2e.max)) ms")
        // The first event finds every stage idle since the warm-up: the case of a FLASH on a quiet server.
        if let (token, start) = posted.first(where: { $0.key.hasPrefix("e2e-0-") }), let arrival = received[token] {
            printLine("first event (stages idle before it): \(String(format: "%.1f", (arrival - start).seconds * 1000)) ms")
        }

        let baseline = try await Self.roundTrip(bootstrapServers: server.bootstrapServers, count: events, rate: rate, logger: logger)
        printLine("produce→consume: \(baseline.count) of \(events), p50 \(String(format: "%.1f", baseline.p50)) ms, p99 \(String(format: "%.1f", baseline.p99)) ms, max \(String(format: "%.1f", baseline.max)) ms")
        printLine("summary: e2e POST→frame p50 \(String(format: "%.0f", e2e.p50)) ms p99 \(String(format: "%.0f", e2e.p99)) ms; bare Kafka round trip p50 \(String(format: "%.0f", baseline.p50)) ms p99 \(String(format: "%.0f", baseline.p99)) ms")
    }

    /// One Kafka hop at the same rate: acks=all idempotent producer → a consumer group member.
    static func roundTrip(bootstrapServers: String, count: Int, rate: Int, logger: Logger) async throws -> LatencySummary {
        let kafka = KafkaConfiguration(bootstrapServers: bootstrapServers)
        let topic = "bench.roundtrip.\(UUID().uuidString.prefix(8))"
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(kafka: kafka), logger: logger)
        var consumerConfiguration = KafkaConsumerConfiguration(kafka: kafka, groupID: "bench-\(UUID().uuidString)", topics: [topic])
        consumerConfiguration.offsetReset = .earliest
        // The same fetch wait as the server's stages, so the one hop compares with theirs.
        consumerConfiguration.fetchWaitMaxMilliseconds = ProcessInfo.processInfo.environment["NEWSALERT_FETCH_WAIT_MS"].flatMap(Int.init) ?? 50
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
        let clock = ContinuousClock()
        // Create the topic (auto-created on first produce) and let the consumer join before timing.
        _ = try await producer.send(KafkaOutgoingMessage(topic: topic, key: nil, value: "warm-up"))
        return try await withThrowingTaskGroup(of: [Double].self) { group in
            group.addTask { try await producer.run(); return [] }
            group.addTask {
                var latencies: [Double] = []
                for try await record in consumer.records {
                    let text = String(decoding: record.value, as: UTF8.self)
                    guard let nanos = Int64(text) else { continue }
                    latencies.append(Double(clock.now.nanosecondsSinceStart - nanos) / 1e6)
                    if latencies.count == count { break }
                }
                return latencies
            }
            try await Task.sleep(for: .seconds(5))
            let interval = Duration.seconds(1) / rate
            var next = clock.now
            for _ in 0..<count {
                try await clock.sleep(until: next)
                next += interval
                try await producer.sendAndForget(KafkaOutgoingMessage(topic: topic, key: nil, value: "\(clock.now.nanosecondsSinceStart)"))
            }
            var latencies: [Double] = []
            let deadline = Task { try await Task.sleep(for: .seconds(30)); await consumer.close() }
            while let result = try await group.next() {
                if !result.isEmpty { latencies = result; break }
            }
            deadline.cancel()
            await consumer.close()
            group.cancelAll()
            return LatencySummary(latencies)
        }
    }
}

extension ContinuousClock.Instant {
    /// Nanoseconds since an arbitrary fixed origin (the clock's), for carrying an instant inside a message.
    var nanosecondsSinceStart: Int64 {
        let components = (self - ContinuousClock.Instant.origin).components
        return components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }

    static let origin = ContinuousClock.now
}
