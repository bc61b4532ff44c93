import Foundation

/// One message to deliver to one endpoint.
public struct WebhookRequest: Sendable, Hashable {
    /// Identifies the endpoint; concurrency is limited per endpoint id.
    public var endpointID: String
    /// The endpoint URL, checked by ``WebhookAddressPolicy`` before every attempt.
    public var url: URL
    /// The `webhook-id`, the same for every attempt of this message.
    public var messageID: String
    /// The payload, sent and signed byte for byte.
    public var body: Data
    /// The endpoint's secrets.
    public var signer: WebhookSigner
    /// The `content-type` header.
    public var contentType: String
    /// Further headers; the signature headers, `content-type` and `content-length` cannot be overridden.
    public var additionalHeaders: [String: String]

    /// Creates a request.
    public init(
        endpointID: String,
        url: URL,
        messageID: String,
        body: Data,
        signer: WebhookSigner,
        contentType: String = "application/json",
        additionalHeaders: [String: String] = [:]
    ) {
        self.endpointID = endpointID
        self.url = url
        self.messageID = messageID
        self.body = body
        self.signer = signer
        self.contentType = contentType
        self.additionalHeaders = additionalHeaders
    }
}
