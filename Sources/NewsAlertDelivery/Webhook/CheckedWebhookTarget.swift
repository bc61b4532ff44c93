import Foundation

/// A webhook URL that ``WebhookAddressPolicy`` approved, together with the address it was
/// approved for. ``WebhookSender`` connects to ``address`` and nowhere else, so a DNS answer
/// that changes after the check (DNS rebinding) cannot redirect the delivery.
public struct CheckedWebhookTarget: Sendable, Hashable, CustomStringConvertible {
    /// The URL to post to, unchanged.
    public let url: URL
    /// The URL's host as the HTTP client sees it: brackets removed from IPv6 literals, case kept.
    public let host: String
    /// The port to connect to (explicit, or 80/443 from the scheme).
    public let port: Int
    /// Whether the URL uses TLS.
    public let usesTLS: Bool
    /// The checked address to connect to.
    public let address: IPAddress

    /// Creates a target. Prefer ``WebhookAddressPolicy/check(_:)``, which validates first.
    public init(url: URL, host: String, port: Int, usesTLS: Bool, address: IPAddress) {
        self.url = url
        self.host = host
        self.port = port
        self.usesTLS = usesTLS
        self.address = address
    }

    /// "HOST:PORT via ADDRESS".
    public var description: String { "\(host):\(port) via \(address)" }
}
