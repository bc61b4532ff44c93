import Crypto
import Foundation

/// Signs webhook payloads per Standard Webhooks (https://www.standardwebhooks.com):
/// `v1,` + base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>")).
///
/// During secret rotation the signer holds the current secret and the previous ones, and
/// emits one signature per secret, so receivers that still know only an older secret keep
/// verifying deliveries.
public struct WebhookSigner: Sendable, Hashable {
    /// The secret deliveries are signed with first.
    public let current: WebhookSecret
    /// Secrets being rotated out; each adds one more signature.
    public let previous: [WebhookSecret]

    /// Creates a signer for `current`, also signing with each of `previous` (rotation).
    public init(current: WebhookSecret, previous: [WebhookSecret] = []) {
        self.current = current
        self.previous = previous.filter { $0 != current }
    }

    /// All secrets in signing order: current first.
    public var secrets: [WebhookSecret] { [current] + previous }

    /// The `webhook-signature` value for one message: space-separated `v1,<base64>` entries.
    public func signature(id: String, timestamp: Int64, body: some DataProtocol) -> String {
        var message = Data("\(id).\(timestamp).".utf8)
        message.append(contentsOf: body)
        return secrets.map { secret in
            let mac = HMAC<SHA256>.authenticationCode(for: message, using: secret.symmetricKey)
            return "v1," + Data(mac).base64EncodedString()
        }.joined(separator: " ")
    }

    /// The three signature headers for `body`, signed at `date` (unix seconds, rounded down).
    public func headers(id: String, body: some DataProtocol, date: Date = Date()) -> WebhookSignatureHeaders {
        let timestamp = Int64(date.timeIntervalSince1970.rounded(.down))
        return WebhookSignatureHeaders(id: id, timestamp: timestamp, signature: signature(id: id, timestamp: timestamp, body: body))
    }

    /// A new message id, `msg_` followed by 26 random base32 characters.
    public static func newMessageID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        var generator = SystemRandomNumberGenerator()
        return "msg_" + String((0..<26).map { _ in alphabet[Int(generator.next(upperBound: UInt8(alphabet.count)))] })
    }
}
