/// What the HTTP edge needs to accept a webhook endpoint: a check of the URL (SSRF) and a fresh signing secret.
public protocol WebhookEndpointPolicy: Sendable {
    /// Why `url` may not receive webhooks (e.g. "resolves to 10.0.0.5, a private address"), or nil when it may.
    func problem(with url: String) async -> String?
    /// Why `secret` cannot sign webhooks (not `whsec_` + base64 of 24 to 64 bytes), or nil when it can.
    func problem(withSecret secret: String) -> String?
    /// A new signing secret (`whsec_…`).
    func newSecret() -> String
}
