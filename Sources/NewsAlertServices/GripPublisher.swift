import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NewsAlertCore
import NewsAlertHTTP
import NIOCore
import ServiceLifecycle

/// Publishes every ticker item to a GRIP proxy (`newsalert ticker --grip-publish URL`, Pushpin's publish API:
/// `POST URL/publish/`), to the channel of each filter a proxied client asked for, so the proxy writes it to the
/// connections it holds. Items are queued in order and sent one request at a time (a few attempts each); when the
/// proxy is away longer than the queue holds, the oldest are dropped and counted, and clients recover them by
/// resuming (their proxy reconnects with `Last-Event-ID` and gets a gap or the missed items).
public final class GripPublisher: Service, Sendable {
    private let endpoint: String
    private let hub: TickerHub
    private let logger: Logger
    private let queue: AsyncStream<Data>
    private let input: AsyncStream<Data>.Continuation

    public init(proxyURL: String, hub: TickerHub, logger: Logger, queueLimit: Int = 10_000) {
        endpoint = proxyURL.hasSuffix("/") ? proxyURL + "publish/" : proxyURL + "/publish/"
        self.hub = hub
        self.logger = logger
        (queue, input) = AsyncStream<Data>.makeStream(bufferingPolicy: .bufferingOldest(queueLimit))
    }

    /// Queues the item for every proxy channel that wants it (called by the feed after the hub has it).
    public func publish(position: Int64, item: TickerItem) {
        guard let body = hub.gripPublishBody(position: position, item: item) else { return }
        if case .dropped = input.yield(body) {
            Counter(label: "newsalert_grip_publish_dropped_total").increment()
        }
    }

    public func run() async throws {
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        await cancelWhenGracefulShutdown {
            for await body in self.queue {
                await self.send(body, with: http)
            }
        }
        try await http.shutdown()
    }

    private func send(_ body: Data, with http: HTTPClient) async {
        for attempt in 1...3 {
            do {
                var request = HTTPClientRequest(url: endpoint)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(data: body))
                let response = try await http.execute(request, timeout: .seconds(10))
                _ = try await response.body.collect(upTo: 64 * 1024)
                if (200..<300).contains(response.status.code) {
                    Counter(label: "newsalert_grip_published_total").increment()
                    return
                }
                logger.warning("GRIP publish refused", metadata: ["grip.status": "\(response.status.code)", "grip.attempt": "\(attempt)"])
            } catch {
                logger.warning("GRIP publish failed", metadata: ["error": "\(error)", "grip.attempt": "\(attempt)"])
            }
            try? await Task.sleep(for: .milliseconds(200 * attempt))
        }
        Counter(label: "newsalert_grip_publish_dropped_total").increment()
    }
}
