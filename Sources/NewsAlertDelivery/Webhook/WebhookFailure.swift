/// Why a delivery attempt failed. Every case is retried per ``RetrySchedule``.
public enum WebhookFailure: Sendable, Hashable, CustomStringConvertible {
    /// The endpoint answered 3xx; redirects are not followed.
    case redirectNotFollowed(statusCode: Int)
    /// The endpoint answered 429 Too Many Requests.
    case rateLimited
    /// The endpoint answered 5xx.
    case serverError(statusCode: Int)
    /// The endpoint answered a 4xx other than 410 and 429.
    case clientError(statusCode: Int)
    /// The endpoint answered a status outside 200...599.
    case unexpectedStatus(Int)
    /// No complete response head within the timeout.
    case timeout
    /// The connection could not be made or broke.
    case connectionFailed
    /// The TLS handshake failed, e.g. the certificate is untrusted or names another host.
    case tlsFailed
    /// The URL was refused by the address policy (it may resolve differently later).
    case addressRejected(WebhookAddressError)
    /// The sender had been shut down.
    case senderShutDown
    /// The calling task was cancelled before or during the attempt.
    case cancelled

    /// A short phrase, e.g. "HTTP 503" or "timed out".
    public var description: String {
        switch self {
        case .redirectNotFollowed(let code): "HTTP \(code), redirects are not followed"
        case .rateLimited: "HTTP 429, rate limited"
        case .serverError(let code): "HTTP \(code)"
        case .clientError(let code): "HTTP \(code)"
        case .unexpectedStatus(let code): "unexpected HTTP status \(code)"
        case .timeout: "timed out"
        case .connectionFailed: "connection failed"
        case .tlsFailed: "TLS handshake failed"
        case .addressRejected(let error): "address rejected: \(error)"
        case .senderShutDown: "webhook sender is shut down"
        case .cancelled: "cancelled"
        }
    }
}
