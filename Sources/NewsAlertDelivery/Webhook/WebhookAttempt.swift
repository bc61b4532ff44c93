/// The record of one delivery attempt: outcome, status, duration and a short error text.
/// Nothing in it contains signing secrets, request headers or the URL's query.
public struct WebhookAttempt: Sendable, Hashable {
    /// What the attempt achieved.
    public var outcome: WebhookAttemptOutcome
    /// The HTTP status code, when a response arrived.
    public var statusCode: Int?
    /// The wait the endpoint asked for (429 and 5xx only), already parsed.
    public var retryAfter: Duration?
    /// From sending the request to the end of the response (or the failure).
    public var duration: Duration
    /// The address connected to, when the URL passed the address policy.
    public var address: IPAddress?
    /// A short human-readable explanation of a failure; nil when delivered.
    public var errorText: String?

    /// Creates a record.
    public init(
        outcome: WebhookAttemptOutcome,
        statusCode: Int? = nil,
        retryAfter: Duration? = nil,
        duration: Duration,
        address: IPAddress? = nil,
        errorText: String? = nil
    ) {
        self.outcome = outcome
        self.statusCode = statusCode
        self.retryAfter = retryAfter
        self.duration = duration
        self.address = address
        self.errorText = errorText
    }
}
