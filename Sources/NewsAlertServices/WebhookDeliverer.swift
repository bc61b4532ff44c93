import Foundation
import NewsAlertCore
import NewsAlertDelivery
import NewsAlertHTTP

/// Webhook delivery: the alert JSON, signed per Standard Webhooks with every current secret of the channel.
public struct WebhookDeliverer: ChannelDeliverer {
    public let kind = DeliveryChannel.Kind.webhook
    let sender: WebhookSender
    /// Requests per second to one endpoint (the sender also caps how many are in flight at once).
    let rateLimiter: EndpointRateLimiter

    public init(sender: WebhookSender, rateLimiter: EndpointRateLimiter = EndpointRateLimiter(ratePerSecond: 50)) {
        self.sender = sender
        self.rateLimiter = rateLimiter
    }

    public func deliver(_ alert: Alert, to channel: DeliveryChannel, attempt: Int) async -> ChannelAttemptResult {
        let secrets = channel.secrets.compactMap { try? WebhookSecret($0) }
        guard let current = secrets.first, let url = URL(string: channel.target) else {
            return .failed(statusCode: nil, detail: "the channel has no valid URL or signing secret", disablesChannel: true)
        }
        let body: Data
        do {
            body = try JSONEncoder.newsAlert.encode(alert)
        } catch {
            return .failed(statusCode: nil, detail: "the alert could not be encoded", disablesChannel: false)
        }
        let request = WebhookRequest(
            endpointID: channel.id, url: url, messageID: alert.alertID, body: body,
            signer: WebhookSigner(current: current, previous: Array(secrets.dropFirst())))
        do {
            try await rateLimiter.acquire(channel.id)
        } catch {
            return .retry(statusCode: nil, detail: "stopped while waiting for the endpoint's rate limit", retryAfter: nil)
        }
        let result = await sender.send(request)
        switch result.outcome {
        case .delivered:
            return .delivered(statusCode: result.statusCode, detail: nil)
        case .endpointGone:
            return .failed(statusCode: 410, detail: "the endpoint answered 410 Gone; the channel was disabled", disablesChannel: true)
        case .failed(let failure):
            return .retry(statusCode: result.statusCode, detail: result.errorText ?? failure.description, retryAfter: result.retryAfter)
        }
    }
}

/// Webhook endpoints accepted by the API: checked by the SSRF guard, signed with a fresh `whsec_` secret.
public struct GuardedWebhookEndpoints: WebhookEndpointPolicy {
    let policy: WebhookAddressPolicy

    public init(policy: WebhookAddressPolicy) {
        self.policy = policy
    }

    public func problem(with url: String) async -> String? {
        do {
            _ = try await policy.check(url)
            return nil
        } catch {
            return error.description
        }
    }

    public func problem(withSecret secret: String) -> String? {
        do {
            _ = try WebhookSecret(secret)
            return nil
        } catch {
            return "must be whsec_ followed by the base64 of \(WebhookSecret.keySizes.lowerBound) to \(WebhookSecret.keySizes.upperBound) key bytes"
        }
    }

    public func newSecret() -> String {
        WebhookSecret.generate().encoded
    }
}
