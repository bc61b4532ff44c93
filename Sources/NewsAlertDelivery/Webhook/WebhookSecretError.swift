/// Why a text is not a valid ``WebhookSecret``. The description never contains the text itself.
public enum WebhookSecretError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The text does not start with `whsec_`.
    case missingPrefix
    /// The part after `whsec_` is not base64.
    case invalidBase64
    /// The key has this many bytes, outside ``WebhookSecret/keySizes``.
    case invalidKeySize(Int)

    /// A short explanation.
    public var description: String {
        switch self {
        case .missingPrefix: "a webhook secret must start with \"whsec_\""
        case .invalidBase64: "a webhook secret must be \"whsec_\" followed by base64"
        case .invalidKeySize(let count):
            "a webhook secret key must be \(WebhookSecret.keySizes.lowerBound) to \(WebhookSecret.keySizes.upperBound) bytes, not \(count)"
        }
    }
}
