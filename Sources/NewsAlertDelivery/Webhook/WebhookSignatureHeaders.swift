/// The three Standard Webhooks headers that accompany a signed delivery.
public struct WebhookSignatureHeaders: Sendable, Hashable {
    /// Header name of the message id.
    public static let idName = "webhook-id"
    /// Header name of the signing time (unix seconds).
    public static let timestampName = "webhook-timestamp"
    /// Header name of the signature list.
    public static let signatureName = "webhook-signature"

    /// `webhook-id`: the message id, the same on every retry of one message.
    public var id: String
    /// `webhook-timestamp`: unix seconds at signing.
    public var timestamp: Int64
    /// `webhook-signature`: space-separated `v1,<base64>` entries, one per signing secret.
    public var signature: String

    /// Creates the header values.
    public init(id: String, timestamp: Int64, signature: String) {
        self.id = id
        self.timestamp = timestamp
        self.signature = signature
    }

    /// The headers as name/value pairs, in the order id, timestamp, signature.
    public var fields: [(name: String, value: String)] {
        [
            (Self.idName, id),
            (Self.timestampName, String(timestamp)),
            (Self.signatureName, signature),
        ]
    }
}
