import ArgumentParser
import AsyncHTTPClient
import Foundation
import NewsAlertDelivery
import NIOCore

/// `newsalert bench webhook`: signed, SSRF-checked deliveries/s against a bare AsyncHTTPClient POST loop.
struct WebhookBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook",
        abstract: "Signed webhook deliveries/s to a local receiver, next to a bare AsyncHTTPClient POST loop, and the ratio.",
        discussion: """
            Both loops post the same 1 KiB alert body to the same in-process receiver (204) with --concurrency requests in
            flight. The signed loop goes through WebhookSender: address check, Standard Webhooks signature, pinned client.
            """)

    @Option(help: "Deliveries per loop.") var deliveries: Int = 10_000
    @Option(help: "Requests in flight at once.") var concurrency: Int = 32

    func run() async throws {
        CommandLogging.bootstrap()
        var logger = CommandLogging.logger("bench")
        logger.logLevel = .warning
        let body = Data(String(repeating: "x", count: 1024).utf8)
        try await withThrowingTaskGroup(of: Void.self) { group in
            let base = try await LocalReceiver.start(in: &group, logger: logger)
            let url = try require(URL(string: "\(base)/hook"))
            printLine("bench webhook: \(deliveries) deliveries of 1 KiB per loop, concurrency \(concurrency), receiver \(base)")

            var configuration = WebhookSender.Configuration()
            configuration.maximumConcurrentRequestsPerEndpoint = concurrency
            let sender = WebhookSender(policy: WebhookAddressPolicy(allowlist: ["127.0.0.1/32"]), configuration: configuration, logger: logger)
            let signer = WebhookSigner(current: WebhookSecret.generate())
            let signed = try await Self.loop(count: deliveries, concurrency: concurrency) { index in
                let attempt = await sender.send(WebhookRequest(endpointID: "bench", url: url, messageID: "msg_\(index)", body: body, signer: signer))
                return attempt.outcome == .delivered
            }
            await sender.shutdown()

            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            let bare = try await Self.loop(count: deliveries, concurrency: concurrency) { _ in
                var request = HTTPClientRequest(url: url.absoluteString)
                request.method = .POST
                request.body = .bytes(ByteBuffer(data: body))
                let response = try await http.execute(request, timeout: .seconds(15))
                return (200..<300).contains(response.status.code)
            }
            try await http.shutdown()

            printLine("signed:  \(formatRate(signed.rate)) deliveries/s (\(signed.succeeded) of \(deliveries) delivered, p50 \(String(format: "%.2f", signed.latency.p50)) ms, p99 \(String(format: "%.2f", signed.latency.p99)) ms)")
            printLine("bare:    \(formatRate(bare.rate)) posts/s (\(bare.succeeded) of \(deliveries), p50 \(String(format: "%.2f", bare.latency.p50)) ms, p99 \(String(format: "%.2f", bare.latency.p99)) ms)")
            printLine("summary: webhook signed \(formatRate(signed.rate))/s vs bare \(formatRate(bare.rate))/s, ratio \(String(format: "%.2f", signed.rate / bare.rate))")
            group.cancelAll()
        }
    }

    struct LoopResult {
        let succeeded: Int
        let rate: Double
        let latency: LatencySummary
    }

    /// Runs `operation` `count` times with `concurrency` in flight; rate over the whole loop.
    static func loop(count: Int, concurrency: Int, _ operation: @escaping @Sendable (Int) async throws -> Bool) async throws -> LoopResult {
        let clock = ContinuousClock()
        let started = clock.now
        var succeeded = 0
        var latencies: [Double] = []
        try await withThrowingTaskGroup(of: (Bool, Double).self) { group in
            var next = 0
            func startNext() {
                guard next < count else { return }
                let index = next
                next += 1
                group.addTask {
                    let sent = clock.now
                    let ok = try await operation(index)
                    return (ok, (clock.now - sent).seconds * 1000)
                }
            }
            for _ in 0..<concurrency { startNext() }
            while let (ok, milliseconds) = try await group.next() {
                if ok { succeeded += 1 }
                latencies.append(milliseconds)
                startNext()
            }
        }
        return LoopResult(succeeded: succeeded, rate: Double(count) / (clock.now - started).seconds, latency: LatencySummary(latencies))
    }
}

/// Unwraps or fails the benchmark with a message.
func require<T>(_ value: T?, _ message: @autoclosure () -> String = "missing value") throws -> T {
    guard let value else { throw ValidationError(message()) }
    return value
}
