/// What one delivery attempt achieved, and so what happens next.
public enum WebhookAttemptOutcome: Sendable, Hashable, CustomStringConvertible {
    /// The endpoint answered 2xx: done.
    case delivered
    /// The endpoint answered 410 Gone: disable it at once, do not retry.
    case endpointGone
    /// Anything else: retry per ``RetrySchedule``, recording why.
    case failed(WebhookFailure)

    /// Whether the message should be attempted again (if the schedule has attempts left).
    public var shouldRetry: Bool {
        if case .failed = self { return true }
        return false
    }

    /// Classifies an HTTP status code.
    ///
    /// 2xx is delivered; 410 is gone; 3xx fails, as redirects are never followed;
    /// 429 and 5xx fail with a server-side reason (and their `Retry-After` counts);
    /// other 4xx and unexpected codes fail too and are retried per schedule.
    public static func classify(statusCode: Int) -> WebhookAttemptOutcome {
        switch statusCode {
        case 200..<300: .delivered
        case 410: .endpointGone
        case 300..<400: .failed(.redirectNotFollowed(statusCode: statusCode))
        case 429: .failed(.rateLimited)
        case 500..<600: .failed(.serverError(statusCode: statusCode))
        case 400..<500: .failed(.clientError(statusCode: statusCode))
        default: .failed(.unexpectedStatus(statusCode))
        }
    }

    /// Whether a `Retry-After` header accompanying this outcome should be honoured (429 and 5xx).
    public var honoursRetryAfter: Bool {
        switch self {
        case .failed(.rateLimited), .failed(.serverError): true
        default: false
        }
    }

    /// "delivered", "endpoint gone", or "failed: REASON".
    public var description: String {
        switch self {
        case .delivered: "delivered"
        case .endpointGone: "endpoint gone (HTTP 410)"
        case .failed(let failure): "failed: \(failure)"
        }
    }
}
