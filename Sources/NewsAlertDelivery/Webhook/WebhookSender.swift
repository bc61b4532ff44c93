import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// Delivers signed webhooks over HTTP(S).
///
/// Every attempt checks the URL with the ``WebhookAddressPolicy`` (resolving its host once) and
/// connects to exactly the address that was approved, through a cached client whose
/// `dnsOverride` pins it; redirects are never followed. Deliveries to one endpoint are limited to
/// ``Configuration-swift.struct/maximumConcurrentRequestsPerEndpoint`` at a time so that a slow
/// endpoint only holds up itself. Call ``shutdown()`` when done; a sender released without it
/// still shuts its clients down, but without waiting for them.
public final class WebhookSender: Sendable {
    /// Tuning for a ``WebhookSender``.
    public struct Configuration: Sendable {
        /// The longest an attempt may take to connect and receive the response head; the
        /// response body gets whatever remains of it.
        public var timeout: Duration
        /// How many requests to one endpoint may be in flight at once.
        public var maximumConcurrentRequestsPerEndpoint: Int
        /// How many idle HTTP clients (one per host and address) to keep.
        public var maximumIdleClients: Int
        /// How much of a response body is read (and discarded) before the connection is dropped.
        public var maximumResponseBodyBytes: Int
        /// The `user-agent` header.
        public var userAgent: String
        /// TLS settings for `https` endpoints, e.g. extra trust roots for an on-premise CA.
        /// Nil means the system's trust store with full certificate and host name verification;
        /// the host name verified is always the URL's, never the pinned address.
        public var tlsConfiguration: TLSConfiguration?

        /// Creates a configuration; the defaults are 15 s, 4 per endpoint, 64 clients, 64 KiB.
        public init(
            timeout: Duration = .seconds(15),
            maximumConcurrentRequestsPerEndpoint: Int = 4,
            maximumIdleClients: Int = 64,
            maximumResponseBodyBytes: Int = 64 * 1024,
            userAgent: String = "newsalert-webhooks/1",
            tlsConfiguration: TLSConfiguration? = nil
        ) {
            self.timeout = timeout
            self.maximumConcurrentRequestsPerEndpoint = maximumConcurrentRequestsPerEndpoint
            self.maximumIdleClients = maximumIdleClients
            self.maximumResponseBodyBytes = maximumResponseBodyBytes
            self.userAgent = userAgent
            self.tlsConfiguration = tlsConfiguration
        }
    }

    /// The rules every URL is checked against before each attempt.
    public let policy: WebhookAddressPolicy
    /// The sender's tuning.
    public let configuration: Configuration
    /// The per-endpoint concurrency limit in force.
    public let limiter: EndpointConcurrencyLimiter

    private let pool: WebhookClientPool
    private let logger: Logger

    /// Creates a sender. Clients run on `eventLoopGroup` (NIO's shared group by default).
    public init(
        policy: WebhookAddressPolicy,
        configuration: Configuration = Configuration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "newsalert.webhook")
    ) {
        self.policy = policy
        self.configuration = configuration
        self.limiter = EndpointConcurrencyLimiter(limit: configuration.maximumConcurrentRequestsPerEndpoint)
        self.pool = WebhookClientPool(
            eventLoopGroup: eventLoopGroup,
            timeout: Self.timeAmount(configuration.timeout),
            tlsConfiguration: configuration.tlsConfiguration,
            maximumIdleClients: configuration.maximumIdleClients
        )
        self.logger = logger
    }

    /// Makes one delivery attempt of `request` and reports what happened; never throws.
    ///
    /// Waits for a free slot of the request's endpoint first; the attempt's ``WebhookAttempt/duration``
    /// covers the address check and the HTTP exchange, not that wait. The message is signed
    /// with the current time just before it is sent.
    public func send(_ request: WebhookRequest) async -> WebhookAttempt {
        do {
            return try await limiter.withPermit(for: request.endpointID) {
                await self.attempt(request)
            }
        } catch {
            return WebhookAttempt(outcome: .failed(.cancelled), duration: .zero, errorText: "cancelled before sending")
        }
    }

    /// Shuts down the cached HTTP clients (those in use as soon as their requests finish).
    /// Attempts after this fail with ``WebhookFailure/senderShutDown``.
    public func shutdown() async {
        await pool.shutdown()
    }

    private func attempt(_ request: WebhookRequest) async -> WebhookAttempt {
        let clock = ContinuousClock()
        let start = clock.now
        let target: CheckedWebhookTarget
        do {
            target = try await policy.check(request.url)
        } catch {
            logger.debug("webhook address rejected", metadata: ["endpoint": "\(request.endpointID)", "reason": "\(error)"])
            return WebhookAttempt(
                outcome: .failed(.addressRejected(error)),
                duration: start.duration(to: clock.now),
                errorText: error.description
            )
        }
        let key = WebhookClientPool.Key(host: target.host, address: target.address)
        guard let client = await pool.lease(key) else {
            return WebhookAttempt(
                outcome: .failed(.senderShutDown),
                duration: start.duration(to: clock.now),
                address: target.address,
                errorText: WebhookFailure.senderShutDown.description
            )
        }
        var attempt = await exchange(request, target: target, client: client, deadline: start + configuration.timeout)
        await pool.release(key)
        attempt.duration = start.duration(to: clock.now)
        logger.debug(
            "webhook attempt",
            metadata: [
                "endpoint": "\(request.endpointID)", "message": "\(request.messageID)",
                "address": "\(target.address)", "outcome": "\(attempt.outcome)",
            ]
        )
        return attempt
    }

    private func exchange(
        _ request: WebhookRequest,
        target: CheckedWebhookTarget,
        client: HTTPClient,
        deadline: ContinuousClock.Instant
    ) async -> WebhookAttempt {
        var http = HTTPClientRequest(url: target.url.absoluteString)
        http.method = .POST
        http.headers.replaceOrAdd(name: "user-agent", value: configuration.userAgent)
        for (name, value) in request.additionalHeaders where !Self.reservedHeaders.contains(name.lowercased()) {
            http.headers.replaceOrAdd(name: name, value: value)
        }
        http.headers.replaceOrAdd(name: "content-type", value: request.contentType)
        let signature = request.signer.headers(id: request.messageID, body: request.body)
        for field in signature.fields {
            http.headers.replaceOrAdd(name: field.name, value: field.value)
        }
        http.body = .bytes(ByteBuffer(bytes: request.body))

        do {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { throw HTTPClientError.deadlineExceeded }
            let response = try await client.execute(http, timeout: Self.timeAmount(remaining), logger: logger)
            await drain(response.body, until: deadline)
            let statusCode = Int(response.status.code)
            let outcome = WebhookAttemptOutcome.classify(statusCode: statusCode)
            let retryAfter = outcome.honoursRetryAfter ? response.headers.first(name: "retry-after").flatMap { RetryAfter.parse($0) } : nil
            let errorText: String? =
                switch outcome {
                case .delivered: nil
                case .endpointGone: "HTTP 410, endpoint gone"
                case .failed(let failure): failure.description
                }
            return WebhookAttempt(
                outcome: outcome,
                statusCode: statusCode,
                retryAfter: retryAfter,
                duration: .zero,
                address: target.address,
                errorText: errorText
            )
        } catch {
            let (failure, text) = Self.describe(error, target: target)
            return WebhookAttempt(outcome: .failed(failure), duration: .zero, address: target.address, errorText: text)
        }
    }

    /// Reads and discards the response body, up to the size cap and the deadline.
    private func drain(_ body: HTTPClientResponse.Body, until deadline: ContinuousClock.Instant) async {
        let limit = configuration.maximumResponseBodyBytes
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                var received = 0
                do {
                    for try await chunk in body {
                        received += chunk.readableBytes
                        if received > limit { break }
                    }
                } catch {
                    // The status is what counts; a broken body does not change the outcome.
                }
            }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
            }
            await group.next()
            group.cancelAll()
        }
    }

    private static let reservedHeaders: Set<String> = [
        "content-type", "content-length", "transfer-encoding", "host",
        WebhookSignatureHeaders.idName, WebhookSignatureHeaders.timestampName, WebhookSignatureHeaders.signatureName,
    ]

    /// A failure kind and a short text for `error`, with no URL, query or header values in it.
    static func describe(_ error: any Error, target: CheckedWebhookTarget) -> (WebhookFailure, String) {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .tlsHandshakeTimeout:
                return (.timeout, "timed out (\(error.shortDescription))")
            case .cancelled:
                return (.cancelled, "cancelled")
            default:
                return (.connectionFailed, "connection to \(target.address) port \(target.port) failed: \(error.shortDescription)")
            }
        }
        if error is CancellationError {
            return (.cancelled, "cancelled")
        }
        if let error = error as? ChannelError, case .connectTimeout = error {
            return (.timeout, "timed out connecting to \(target.address) port \(target.port)")
        }
        if let error = error as? IOError {
            return (.connectionFailed, "connection to \(target.address) port \(target.port) failed: \(String(cString: strerror(error.errnoCode)))")
        }
        if error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError {
            return (.tlsFailed, "TLS with \(target.address) port \(target.port) failed: \(shortened(String(describing: error)))")
        }
        if error is NIOConnectionError {
            return (.connectionFailed, "cannot connect to \(target.address) port \(target.port)")
        }
        var text = String(describing: type(of: error))
        if text.count > 80 { text = String(text.prefix(80)) }
        return (.connectionFailed, "connection to \(target.address) port \(target.port) failed: \(text)")
    }

    /// At most 160 characters of `text`, on one line.
    private static func shortened(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return line.count > 160 ? String(line.prefix(159)) + "…" : line
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !nanoseconds.overflow else { return .nanoseconds(.max) }
        return .nanoseconds(nanoseconds.partialValue + attoseconds / 1_000_000_000)
    }
}
